"""Every credential field is redacted whatever its length, in request descriptions and in answers kept as raw pages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotel_pipeline.sources.pms.http import _NAMED_CREDENTIAL, REDACTED, HttpCore, names_credential, redact


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


_KEYISH = st.text(alphabet=st.sampled_from(list('"{}:, _-aeiknoprstwyzAKST') + ["\u0130", "\u0131", "\u017f",
                                                                                "\u212a", "\u0307", "é"]))


@settings(max_examples=500, deadline=None)
@given(_KEYISH)
def test_the_cheap_credential_test_answers_as_the_regex(text: str) -> None:
    """Whether an answer needs redacting is decided by a substring test before the regex: on any text, including
    the non-ASCII letters the regex's IGNORECASE takes for i, s and k, both give the same answer."""
    assert names_credential(text) == (_NAMED_CREDENTIAL.search(text) is not None)


@pytest.mark.parametrize("text", ['{"Monkey": 1}', '{"apİKEY": 1}', '{"x_ſecret": 2}', '{"authorİzation": 1}',
                                  '{"\u212aey": 1}', '{"bearer-token":"x"}'])
def test_credential_shaped_names_are_found(text: str) -> None:
    assert names_credential(text) and _NAMED_CREDENTIAL.search(text)


def test_pages_naming_no_credential_skip_the_regex() -> None:
    assert not names_credential('{"Reservations": [{"Id": "abc", "Keyword": "sea", "tokens": 2}], "Cursor": "c"}')
