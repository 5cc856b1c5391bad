"""Concurrent page requests (``HttpCore.parallel``), pages landed as received, and the JSON reader's fallbacks.

What must not change with requests in flight at once: the raw file lists pages in the order a one-at-a-time run
would (numbered 1..n), a failure leaves what a sequential run would have left (the pages before it, nothing
committed, the cursor where it was), and the budget is shared by every thread.
"""

from __future__ import annotations

import gc
import gzip
import json
import threading
from datetime import date
from pathlib import Path

import pytest

from hotel_pipeline.core.clock import local_instant
from hotel_pipeline.core.collector import collector_paused
from hotel_pipeline.core.warehouse import Warehouse
from hotel_pipeline.sources.pms.errors import ServerError
from hotel_pipeline.sources.pms.extract import current_status
from hotel_pipeline.sources.pms.http import HttpCore, RateLimit, RetryPolicy, parse_json
from hotel_pipeline.sources.pms.raw import encode_raw, read_raw
from hotel_pipeline.workshop.sandbox.pms.faults import Faults
from hotel_pipeline.workshop.sandbox.pms.harness import running_sandbox
from hotel_pipeline.workshop.sandbox.pms.world import World
from hotel_pipeline_tests.pms.helpers import extract, unified_state

NOW = local_instant(date(2016, 7, 3), "Europe/Lisbon", 3)


@pytest.fixture(scope="module")
def world() -> World:
    built = World(hotel_ids=["H1"], arrival_from=date(2016, 6, 1), arrival_to=date(2016, 7, 10))
    built.set_now(NOW)
    return built


def test_parse_json_falls_back_where_orjson_would_differ() -> None:
    assert parse_json(b'{"a": [1, "\xc3\xa9", 2.5]}') == ({"a": [1, "é", 2.5]}, True)
    big = 123456789012345678901234567890
    assert parse_json(b'{"id": %d}' % big) == ({"id": big}, False)  # orjson alone reads it as a float
    assert parse_json(b'\xef\xbb\xbf{"a": 1}') == ({"a": 1}, False)  # a BOM: json reads it, not copied as bytes
    value, verbatim = parse_json(b'{"a": NaN}')
    assert value["a"] != value["a"] and not verbatim
    with pytest.raises(ValueError):
        parse_json(b"<html>502</html>")


def test_raw_bodies_are_written_as_received() -> None:
    body = b'{ "total": 2, "data": [{"x": 1.50}, {"name": "Jos\xc3\xa9"}] }'
    pages = [{"seq": 1, "label": "a", "body": parse_json(body)[0]}, {"seq": 2, "label": "b", "body": {"k": "é"}}]
    payload = encode_raw({"extract_id": "e1", "pages": pages}, [body, None])
    assert body in payload  # byte for byte, spaces and 1.50 included
    doc = json.loads(payload)
    assert doc["format"] and doc["extract_id"] == "e1"
    assert doc["pages"] == pages
    assert encode_raw({"pages": pages}) == encode_raw({"pages": pages}, [None, None])


def test_parallel_keeps_task_order_and_drops_what_follows_a_failure(world: World) -> None:
    with running_sandbox(world, ["mews"]) as sb:
        core = HttpCore(base_url=sb.url, vendor="demo", concurrency=3, retry=RetryPolicy(max_attempts=1))
        started = threading.Event()

        def get(n: int) -> int:
            core.call("GET", "/_sandbox/clock", params={"n": n}, label=f"p{n}")
            return n

        def second() -> int:
            started.wait(10)  # finishes after the third task has recorded its page
            return get(1)

        def third() -> int:
            try:
                return get(2)
            finally:
                started.set()

        try:
            assert core.parallel([lambda: get(0), second, third]) == [0, 1, 2]
            assert [(p.seq, p.label) for p in core.pages] == [(1, "p0"), (2, "p1"), (3, "p2")]

            def broken() -> int:
                get(4)
                raise RuntimeError("page 4 is unreadable")

            core.pages.clear()
            with pytest.raises(RuntimeError, match="page 4"):
                core.parallel([lambda: get(3), broken, *[lambda n=n: get(n) for n in range(5, 9)]])
            # what a sequential run leaves: the pages before the failure and the failed task's own, nothing after
            assert [(p.seq, p.label) for p in core.pages] == [(1, "p3"), (2, "p4")]
            assert core.stats.requests >= 5
        finally:
            core.close()


def test_parallel_requests_share_the_budget(world: World) -> None:
    with running_sandbox(world, ["mews"]) as sb:
        waits: list[float] = []
        core = HttpCore(base_url=sb.url, vendor="demo", concurrency=4, rate_limit=RateLimit(3, 60.0),
                        sleep=lambda s: (waits.append(s), (_ for _ in ()).throw(ServerError("budget spent"))))
        try:
            with pytest.raises(ServerError, match="budget spent"):
                core.parallel([lambda n=n: core.call("GET", "/_sandbox/clock", params={"n": n}) for n in range(8)])
            assert core.stats.requests == 3  # 4 threads, one budget of 3 requests: the 4th request had to wait
            assert waits and all(w > 0 for w in waits)
        finally:
            core.close()


@pytest.mark.parametrize("vendor", ["cloudbeds", "mews"])
def test_concurrent_extract_lands_the_same_pages_in_order(world: World, tmp_path: Path, vendor: str) -> None:
    with running_sandbox(world, [vendor]) as sb:
        one = extract(sb, Warehouse(url=f"duckdb:///{tmp_path / 'one.duckdb'}"), vendor, "H1", NOW,
                      tmp_path / "raw1", concurrent_requests=1)
        wh = Warehouse(url=f"duckdb:///{tmp_path / 'two.duckdb'}")
        two = extract(sb, wh, vendor, "H1", NOW, tmp_path / "raw2", concurrent_requests=3)
    assert two.records == one.records > 100 and two.pages == one.pages > 3
    first, second = read_raw(Path(one.raw_file)), read_raw(Path(two.raw_file))
    assert [p["seq"] for p in second["pages"]] == list(range(1, two.pages + 1))
    strip = ("received_at",)
    assert [{k: v for k, v in p.items() if k not in strip} for p in second["pages"]] == \
        [{k: v for k, v in p.items() if k not in strip} for p in first["pages"]]
    assert unified_state(wh, vendor, "H1").height == one.records


def test_failed_page_mid_prefetch_leaves_nothing_half_written(world: World, tmp_path: Path) -> None:
    wh = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
    with running_sandbox(world, ["cloudbeds"]) as sb:
        done = extract(sb, wh, "cloudbeds", "H1", NOW, tmp_path / "raw", mode="full", concurrent_requests=3)
        before = current_status(wh, "H1", "cloudbeds")
        rows = unified_state(wh, "cloudbeds", "H1").sort("external_id")
        sb.sandbox.set_faults("cloudbeds", Faults(error_rate=0.1, seed=5))
        with pytest.raises(ServerError):
            extract(sb, wh, "cloudbeds", "H1", NOW.replace(hour=NOW.hour + 1), tmp_path / "raw", mode="full",
                    retry=RetryPolicy(max_attempts=1, backoff_base_seconds=0.0), concurrent_requests=3)
    after = current_status(wh, "H1", "cloudbeds")
    assert after["last_status"] == "failed" and after["cursor"] == before["cursor"] == done.cursor
    assert unified_state(wh, "cloudbeds", "H1").sort("external_id").equals(rows)
    failed = [read_raw(p) for p in sorted((tmp_path / "raw").rglob("*.json.gz"))]
    failed = [d for d in failed if not d["complete"]]
    assert len(failed) == 1
    pages = failed[0]["pages"]
    assert [p["seq"] for p in pages] == list(range(1, len(pages) + 1))
    numbers = [int(p["request"]["params"]["pageNumber"]) for p in pages if p["label"] == "reservations"]
    # in page order and cut at the failed page; page 1 is asked alone, so with 2+ the failure was among the pages
    # asked concurrently (the seed's first failure is its 7th request)
    assert numbers == list(range(1, len(numbers) + 1)) and 2 <= len(numbers) < done.pages
    text = gzip.decompress(sorted((tmp_path / "raw").rglob("*.json.gz"))[-1].read_bytes())
    assert all(s.encode() not in text for s in sb.secrets())


def test_collector_paused_restores_the_collector() -> None:
    assert gc.isenabled()
    with pytest.raises(KeyError), collector_paused():
        assert not gc.isenabled()
        raise KeyError("x")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # off before, off after
    finally:
        gc.enable()


def test_raw_file_that_cannot_be_written_commits_nothing(world: World, tmp_path: Path) -> None:
    """The raw file is written while the pages are normalised; if writing it fails, nothing commits."""
    from datetime import UTC

    from hotel_pipeline.sources.pms import connector_classes
    from hotel_pipeline.sources.pms.extract import run_extract
    from hotel_pipeline.sources.pms.raw import raw_path

    wh = Warehouse(url=f"duckdb:///{tmp_path / 'w.duckdb'}")
    taken = raw_path(tmp_path / "raw", "mews", "H1", NOW.astimezone(UTC), "fixed-id")
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"an earlier extract's file")
    with running_sandbox(world, ["mews"]) as sb:
        import os

        os.environ.update(sb.env)
        hotel = sb.hotel("mews", "H1")
        connector = connector_classes()["mews"](hotel, hotel.sources[0], throttle=False)
        try:
            with pytest.raises(FileExistsError):
                run_extract(wh, connector, now=NOW, mode="full", raw_root=tmp_path / "raw", extract_id="fixed-id")
        finally:
            connector.close()
    assert taken.read_bytes() == b"an earlier extract's file"  # never rewritten
    assert current_status(wh, "H1", "mews").get("cursor") is None
    assert not wh.table_exists("reservation_versions") or unified_state(wh, "mews", "H1").height == 0
