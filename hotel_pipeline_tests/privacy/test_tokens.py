"""Guest tokens: the keyed HMAC of a normalised value, whatever computes it."""

from __future__ import annotations

import hashlib
import hmac

from hotel_pipeline.privacy.pii import tokenise


def test_guest_tokens_are_the_keyed_hmac_of_the_normalised_value() -> None:
    """Tokens must not change with how they are computed: a rebuild from the raw zone, or another hotel's delivery
    of the same e-mail, has to find the very tokens stored before (HMAC-SHA256 of ``kind:value``, 32 hex digits)."""
    key = b"a key for this test only"
    assert tokenise("  Ana   SILVA ", kind="name", key=key) == hmac.new(
        key, b"name:ana silva", hashlib.sha256).hexdigest()[:32]
    assert tokenise("ana@example.org", kind="email", key=key) != tokenise("ana@example.org", kind="name", key=key)
    assert tokenise("   ", kind="name", key=key) is None
    assert tokenise(None, kind="phone", key=key) is None
