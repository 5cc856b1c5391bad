"""Raw zone immutability and request descriptions without secrets; token renewal of the shared core."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.pms.errors import AuthError
from hotel_pipeline.sources.pms.http import REDACTED, HttpCore, TokenAuth
from hotel_pipeline.sources.pms.raw import raw_path, read_raw, write_raw
from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline_tests.pms.helpers import extract


def test_raw_files_are_never_rewritten(tmp_path: Path) -> None:
    path = raw_path(tmp_path, "mews", "H1", datetime(2016, 7, 1, tzinfo=UTC), "x1")
    assert path.relative_to(tmp_path).parts == ("mews", "H1", "2016", "07", "01", "x1.json.gz")
    write_raw(path, {"pages": [1]})
    with pytest.raises(FileExistsError):
        write_raw(path, {"pages": [2]})
    assert read_raw(path)["pages"] == [1]
    assert [p.name for p in path.parent.iterdir()] == ["x1.json.gz"]  # no temporary left behind


def test_raw_pages_describe_requests_without_secrets(tmp_path: Path) -> None:
    world = World(hotel_ids=["H1"], arrival_from=date(2016, 7, 1), arrival_to=date(2016, 7, 5))
    now = local_instant(date(2016, 7, 3), "Europe/Lisbon", 3)
    world.set_now(now)
    with running_sandbox(world, ["mews"]) as sb:
        wh = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
        result = extract(sb, wh, "mews", "H1", now, tmp_path / "raw")
        doc = read_raw(Path(result.raw_file))
        first = doc["pages"][0]
        assert first["request"]["json"]["ClientToken"] == REDACTED
        assert first["request"]["json"]["AccessToken"] == REDACTED
        assert first["request"]["json"]["UpdatedUtc"]["StartUtc"].startswith("2013-01-01")
        assert doc["complete"] is True and doc["context"]["timezone"] == "Europe/Lisbon"
        text = gzip.decompress(Path(result.raw_file).read_bytes()).decode()
        assert all(secret not in text for secret in sb.secrets())


def test_token_auth_renews_before_expiry_and_on_refusal() -> None:
    now = [0.0]
    calls = []

    def acquire() -> tuple[str, float]:
        calls.append(now[0])
        return f"token-{len(calls)}-abcdef", 100.0

    core = HttpCore(base_url="http://127.0.0.1:9", vendor="demo")
    auth = TokenAuth(core, acquire, skew_seconds=10, clock=lambda: now[0])
    assert auth.get() == "token-1-abcdef" and auth.get() == "token-1-abcdef"
    now[0] = 95.0  # inside the skew: renew before the vendor would refuse it
    assert auth.get() == "token-2-abcdef"
    assert auth.refresh() and auth.token == "token-3-abcdef"
    assert core.secrets == ["token-1-abcdef", "token-2-abcdef", "token-3-abcdef"]  # all redacted from now on
    with pytest.raises(AuthError):
        TokenAuth(core, lambda: ("", None)).get()
    core.close()
