"""The journal's group commit in two lanes: while one lane's flush is slow (a disk other processes share), the other
lane stores and answers the next deliveries; a copy of a key still being flushed is answered only once that flush is
done, and a flush that fails answers nothing as stored."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from hotel_pipeline.webhooks.spool import Spool


def record(key: str) -> dict:
    return {"type": "accepted", "vendor": "mews", "hotel_id": "H1", "received_at": "2016-07-20T10:00:00.000000+00:00",
            "key": key, "kind": "reservation", "ids": ["r"], "event_id": None, "extra": {}, "body": "{}"}


class HeldFlush:
    """The first fdatasync of the test waits until ``release`` (a flush stuck on a busy disk)."""

    def __init__(self) -> None:
        self.entered, self.gate, self.real = threading.Event(), threading.Event(), os.fdatasync

    def __call__(self, fd: int) -> None:
        if not self.entered.is_set():
            self.entered.set()
            assert self.gate.wait(30)
        self.real(fd)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> HeldFlush:
    flush = HeldFlush()
    monkeypatch.setattr(os, "fdatasync", flush)
    return flush


def test_a_slow_flush_holds_its_own_deliveries_only(tmp_path: Path, held: HeldFlush) -> None:
    spool = Spool(tmp_path / "spool")
    writer = spool.writer()
    try:
        first = writer.submit(record("b-1"))
        assert held.entered.wait(10)  # one lane is flushing b-1
        copy = writer.submit(record("b-1"))
        other = writer.submit(record("b-2"))
        assert other.result(timeout=10) is True  # stored by the other lane meanwhile
        assert not first.done() and not copy.done()  # nothing said about b-1 before it is on disk
        held.gate.set()
        assert first.result(timeout=10) is True and copy.result(timeout=10) is False
    finally:
        held.gate.set()
        writer.close()
    assert sorted(r.record["key"] for r in spool.read()) == ["b-1", "b-2"]
    assert len(spool.segments()) == 2


def test_a_failed_flush_answers_its_key_and_its_copies_with_the_error(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    real, failed = os.fdatasync, threading.Event()

    def fdatasync(fd: int) -> None:
        if not failed.is_set():
            failed.set()
            raise OSError(5, "I/O error")
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    spool = Spool(tmp_path / "spool")
    writer = spool.writer()
    try:
        with pytest.raises(OSError):
            writer.submit(record("b-1")).result(timeout=10)
        assert writer.submit(record("b-1")).result(timeout=10) is True  # the vendor's retry is stored, not a duplicate
    finally:
        writer.close()
    assert "b-1" in spool.keys()
