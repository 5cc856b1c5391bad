"""The shared core's answers to what the five later vendors needed: form bodies, safe redaction of short secrets,
repeated query keys, and no auth refresh for the token request itself (each against the real sandbox)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from hotel_pipeline.core.portfolio import parse_portfolio
from hotel_pipeline.sources.pms import beds24, connector_classes, opera, rms, stayntouch
from hotel_pipeline.sources.pms.errors import AuthError, ConfigError
from hotel_pipeline.sources.pms.extract import plan_window
from hotel_pipeline.sources.pms.http import REDACTED, HttpCore, redact
from hotel_pipeline.workshop.sandbox.pms.faults import Faults
from hotel_pipeline_tests.pms.vendors import _http as h

OPERA_CREDS = {"client_id": "opera-client", "client_secret": "opera-secret-7f3a", "app_key": "5b1c2f0e-7d4a-4c3b-9e8f-0a1b2c3d4e5f"}
RMS_CREDS = {"agent_id": "7", "agent_password": "rms-agent-pw-55d1", "client_id": "11",
             "client_password": "rms-cli-pw-0b9e"}


# -- (a) form bodies -----------------------------------------------------------------------------------------------
def test_form_bodies_go_through_the_core_with_its_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """OAuth token requests are form-encoded: ``call(data=...)`` sends them with the core's retry rules (no
    per-vendor copy of the retry loop), and a token request is never recorded."""
    assert not hasattr(opera, "post_form") and not hasattr(stayntouch, "post_form")
    faults = Faults(error_rate=0.5, seed=4)
    with h.sandbox("opera", OPERA_CREDS, faults=faults) as server:
        conn = h.make_connector(opera.OperaConnector, server.base_url("opera"), OPERA_CREDS, {}, monkeypatch)
        for _ in range(4):
            conn.login()
        assert server.sandbox.handlers["opera"].tokens_issued == 4
        assert conn.http.stats.retries > 0  # 5xx on the token endpoint were retried by the core
        assert conn.http.pages == []
    with pytest.raises(ValueError, match="not both"):
        HttpCore(base_url="http://127.0.0.1:9", vendor="x").call("POST", "/", json_body={}, data={"a": "b"})


def test_stayntouch_token_is_a_form_request(monkeypatch: pytest.MonkeyPatch) -> None:
    creds = {"client_id": "snt-client-0001", "client_secret": "snt-secret-4c1d9e"}
    with h.sandbox("stayntouch", creds) as server:
        conn = h.make_connector(stayntouch.StayntouchConnector, server.base_url("stayntouch"), creds, {},
                                monkeypatch)
        conn.login()
        assert conn.auth.token and conn.http.stats.requests == 1


# -- (b) redaction of short secrets ----------------------------------------------------------------------------------
def test_short_secrets_do_not_corrupt_data_but_credential_fields_are_redacted() -> None:
    secrets = ["7", "11", "rms-agent-pw-55d1"]
    body = {"areaName": "117", "accommodationTotal": 711.0, "note": "pw rms-agent-pw-55d1 here",
            "agentId": 7, "clientId": "11", "rows": [{"clientId": 11, "adults": 7}]}
    got = redact(body, secrets, {"agentId", "clientId"})
    assert got == {"areaName": "117", "accommodationTotal": 711.0, "note": f"pw {REDACTED} here",
                   "agentId": REDACTED, "clientId": REDACTED, "rows": [{"clientId": REDACTED, "adults": 7}]}
    assert redact("room 17, agent 7", secrets) == "room 17, agent 7"


def test_rms_ids_are_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(rms.RmsConnector.credential_options) == {"agent_id", "agent_password", "client_id",
                                                          "client_password"}
    assert "agent_id" not in rms.RmsConnector.default_options
    with h.sandbox("rms", RMS_CREDS) as server:
        monkeypatch.delenv("TEST_RMS_AGENT_ID", raising=False)
        with pytest.raises(ConfigError, match="agent_id_env"):
            h.make_connector(rms.RmsConnector, server.base_url("rms"),
                             {k: v for k, v in RMS_CREDS.items() if k != "agent_id"}, {}, monkeypatch)


# -- (c) repeated query keys -------------------------------------------------------------------------------------------
def test_repeated_query_keys_reach_the_vendor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beds24 documents ``status`` as an array (``status=confirmed&status=cancelled``): the sandbox keeps every
    value, and without it (or with only some) cancellations stay hidden. (A comma-separated ``status`` is not the
    spec's form: the spec validation of the sandbox's traffic would refuse it.)"""
    creds = {"refresh_token": "b24-refresh-token-77aa19"}
    with h.sandbox("beds24", creds, throttle=False) as server:
        server.sandbox.world.set_now(h.T2)
        base = server.base_url("beds24")
        token = httpx.get(f"{base}/authentication/token", headers={"refreshToken": creds["refresh_token"]}).json()
        hdrs = {"token": token["token"]}
        window = {"modifiedFrom": "2013-01-01T00:00:00Z", "modifiedTo": "2016-03-20T03:00:00Z"}

        def statuses(params) -> set[str]:
            answer = httpx.get(f"{base}/bookings", params=params, headers=hdrs).json()
            return {b["status"] for b in answer["data"]}

        assert statuses({**window, "status": ["confirmed", "cancelled"]}) == {"confirmed", "cancelled"}
        assert statuses({**window, "status": ["cancelled"]}) == {"cancelled"}
        assert "cancelled" not in statuses(window)
        answer = httpx.get(f"{base}/bookings", params={**window, "status": ["confirmed", "cancelled"]},
                           headers=hdrs).json()
        assert answer["pages"]["nextPageLink"].count("status=") == 2


# -- (d) no auth refresh for the token request itself ----------------------------------------------------------------
def test_a_refused_token_request_is_not_refreshed(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {**OPERA_CREDS, "client_secret": "wrong-secret-000000"}
    with h.sandbox("opera", OPERA_CREDS) as server:
        conn = h.make_connector(opera.OperaConnector, server.base_url("opera"), bad, {}, monkeypatch)
        with pytest.raises(AuthError) as info:
            conn.login()
        assert conn.http.stats.requests == 1  # no refresh, no second login
        assert "wrong-secret" not in str(info.value)


def test_an_expired_token_is_still_refreshed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook still fires for ordinary requests: a token the vendor forgot is renewed and the call retried."""
    with h.sandbox("rms", RMS_CREDS) as server:
        conn = h.make_connector(rms.RmsConnector, server.base_url("rms"), RMS_CREDS, {}, monkeypatch)
        conn.login()
        server.sandbox.handlers["rms"]._tokens.clear()
        plans = conn.http.call("GET", "/mealPlans", headers=conn._headers, label="mealPlans")
        assert len(plans) == 4
        assert server.sandbox.handlers["rms"].tokens_issued == 2


#: A vendor whose token call answers a lifetime, its credentials, and one ordinary authenticated request.
TOKEN_VENDORS = {
    "opera": (opera.OperaConnector, OPERA_CREDS,
              lambda c: c.http.call("GET", f"/rsv/v1/hotels/{c.hotel_code}/reservations", headers=c._headers,
                                    params={"arrivalStartDate": "2016-02-01", "arrivalEndDate": "2016-02-01"})),
    "stayntouch": (stayntouch.StayntouchConnector, {"client_id": "snt-client-0001", "client_secret": "snt-secret-4c1d9e"},
                   lambda c: c.http.call("GET", "/connect/room_types", params={"hotel_id": "H1"},
                                         headers=c._headers)),
    "beds24": (beds24.Beds24Connector, {"refresh_token": "b24-refresh-token-77aa19"},
               lambda c: c.http.call("GET", "/properties", headers=c._headers)),
}


@pytest.mark.parametrize("vendor", list(TOKEN_VENDORS))
def test_a_token_about_to_expire_is_renewed_before_the_request(vendor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared ``TokenAuth``: a token with more than the skew left is reused; one inside the skew is renewed
    *before* the request (the vendor no longer knows the old one, yet no request is refused and retried)."""
    cls, creds, request = TOKEN_VENDORS[vendor]
    with h.sandbox(vendor, creds, throttle=False) as server:
        handler = server.sandbox.handlers[vendor]
        conn = h.make_connector(cls, server.base_url(vendor), creds, {}, monkeypatch)
        request(conn)
        first = conn.auth.token
        assert handler.tokens_issued == 1 and conn.auth.expires_at is not None
        request(conn)
        assert handler.tokens_issued == 1 and conn.auth.token == first  # far from expiry: reused
        lifetime = conn.auth.expires_at - time.monotonic()
        conn.auth.clock = lambda: time.monotonic() + lifetime - conn.auth.skew / 2  # inside the skew
        handler._tokens.clear()  # the vendor has forgotten the old token
        served = handler.requests_served
        request(conn)
        assert handler.tokens_issued == 2 and conn.auth.token != first
        assert handler.requests_served == served + 2  # token call + the request, no 401 round trip
        assert conn.http.stats.errors == 0


# -- the documented portfolio block ----------------------------------------------------------------------------------
def test_documented_portfolio_block_builds_every_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/connectors.md declares all seven sources; each builds its connector with credentials from the named
    environment variables only, and the schedule options are what the schedules read."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "connectors.md").read_text()
    section = text[text.index("## Portfolio sources"):text.index("## Extract semantics")]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    portfolio = parse_portfolio(yaml.safe_load(block))
    assert sorted(h.sources[0].type for h in portfolio.hotels) == sorted(connector_classes())
    for hotel in portfolio.hotels:
        source = hotel.sources[0]
        cls = connector_classes()[source.type]
        assert {f"{f}_env" for f in cls.credential_options} == {k for k in source.options if k.endswith("_env")}
        values = {}
        for option in cls.credential_options.values():
            values[source.option(option)] = f"secret-{source.type}-{option}-0123456789"
            monkeypatch.setenv(source.option(option), values[source.option(option)])
        connector = cls(hotel, source)
        try:
            assert set(values.values()) <= set(connector.http.secrets)
            assert not set(values.values()) & {str(v) for v in connector.options.values()}
            window = plan_window(connector, "reconcile", datetime(2024, 1, 10, tzinfo=UTC), None)
            assert (window.end_date - window.start_date).days == int(source.option("reconcile_days", 7))
        finally:
            connector.close()
    opera_src = portfolio.hotel("H3").sources[0]
    assert opera_src.option("incremental_every_minutes") == 30 and opera_src.option("reconcile_days") == 14
