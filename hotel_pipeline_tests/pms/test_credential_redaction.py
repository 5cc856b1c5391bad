"""Every credential field is redacted whatever its length, in request descriptions and in answers kept as raw pages."""

from __future__ import annotations

import pytest

from hotel_pipeline.sources.pms.http import REDACTED, HttpCore, redact


@pytest.mark.parametrize("field", ["AccessToken", "ClientToken", "access_token", "refresh_token", "x-api-key",
                                   "apiKey", "client_secret", "agentPassword", "Authorization"])
def test_short_credentials_are_redacted_by_field_name(field: str) -> None:
    """A 5-character Mews AccessToken is too short to be searched inside text, but its field gives it away."""
    core = HttpCore(base_url="http://127.0.0.1:9", vendor="mews", secrets=["abc12"])
    described = core.redact({"json": {field: "abc12", "Limitation": {"Count": 5}, "nested": [{field: "z"}]}})
    assert described == {"json": {field: REDACTED, "Limitation": {"Count": 5}, "nested": [{field: REDACTED}]}}
    core.close()


def test_data_fields_that_merely_look_alike_are_kept() -> None:
    """Cursors, page tokens of pagination and ids survive, so a raw page can still be replayed."""
    kept = {"Cursor": "c-1", "nextPageToken": "p2", "keyword": "sea view", "TokenizedGuest": "t", "Id": "abc12"}
    assert redact(kept, ["abc12"], set()) == kept
