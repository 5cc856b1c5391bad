"""The transition engine on hand-built poll sequences: every rule of slot_events, one scenario at a time."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from hotel_pipeline.dining.transitions import advance, attempts_frame, observations_frame

T0 = datetime(2016, 7, 20, 14, 0)  # 10:00 in New York
DAY = date(2016, 7, 25)


class Polls:
    """Builds attempts and observations: ``add(minute, ok, slots, party=2, day=DAY)``."""

    def __init__(self) -> None:
        self.attempts: list[dict] = []
        self.obs: list[dict] = []

    def add(self, minute: int, ok: bool, slots: list[str], party: int = 2, day: date = DAY) -> Polls:
        at = T0 + timedelta(minutes=minute)
        self.attempts.append(dict(provider="resy", venue_id="1", party_size=party, slot_date=day, polled_at=at, ok=ok))
        for s in slots if ok else []:
            self.obs.append(dict(provider="resy", venue_id="1", party_size=party, slot_date=day, polled_at=at,
                                 slot_time=s, seating="Dining Room", venue_name="X", neighborhood="SoHo",
                                 price_range=2, time_zone="America/New_York",
                                 time_bucket="prime" if "19:00" <= s <= "21:00" else "off_peak"))
        return self

    def frames(self, lo: int = 0, hi: int = 10**9) -> tuple[pl.DataFrame, pl.DataFrame]:
        keep = lambda r: T0 + timedelta(minutes=lo) <= r["polled_at"] < T0 + timedelta(minutes=hi)  # noqa: E731
        return attempts_frame([r for r in self.attempts if keep(r)]), observations_frame([r for r in self.obs if keep(r)])


def events_of(adv, *cols: str) -> list[tuple]:
    cols = cols or ("slot_time", "event_type", "minute")
    ev = adv.events.with_columns(((pl.col("observed_at") - T0).dt.total_minutes()).alias("minute"))
    return sorted(ev.select(cols).rows())


def test_baseline_drop_close_and_bounds() -> None:
    p = Polls().add(0, True, ["19:00", "20:00"]).add(1, True, ["19:00"]).add(2, True, ["19:00", "21:00"])
    p.add(3, True, ["19:00", "21:00"]).add(4, True, ["19:00"])
    adv = advance(*p.frames())
    assert events_of(adv) == sorted([
        ("19:00", "BASELINE_AVAILABLE", 0), ("20:00", "BASELINE_AVAILABLE", 0), ("20:00", "CLOSED", 1),
        ("21:00", "NEW_DROP", 2), ("21:00", "CLOSED", 4),
    ])
    closed = adv.events.filter((pl.col("slot_time") == "21:00") & (pl.col("event_type") == "CLOSED")).row(0, named=True)
    assert closed["lifecycle"] == "drop"
    assert closed["opened_at"] == T0 + timedelta(minutes=2)
    assert closed["duration_seconds"] == 120.0          # closed_at 4 - first_seen 2
    assert closed["duration_min_seconds"] == 60.0       # last_seen 3 - first_seen 2
    assert closed["duration_max_seconds"] == 180.0      # closed_at 4 - poll before opening (1)
    open_rows = adv.slot_state.filter(pl.col("status") == "open")
    assert open_rows["slot_time"].to_list() == ["19:00"] and open_rows["lifecycle"].to_list() == ["baseline"]


def test_outage_in_the_middle_moves_nothing() -> None:
    """Failed polls (errors, empty bodies) are not observations: no CLOSED during them, no phantom drop after."""
    p = Polls().add(0, True, []).add(1, True, ["19:00"]).add(2, True, ["19:00"])
    for m in range(3, 8):
        p.add(m, False, [])
    p.add(8, True, ["19:00"]).add(9, True, [])
    adv = advance(*p.frames())
    assert events_of(adv) == [("19:00", "CLOSED", 9), ("19:00", "NEW_DROP", 1)]
    closed = adv.events.filter(pl.col("event_type") == "CLOSED").row(0, named=True)
    assert closed["duration_seconds"] == 480.0 and closed["duration_min_seconds"] == 420.0
    # A slot that closed during the outage is closed at the first successful poll after it, with wide bounds.
    q = Polls().add(0, True, []).add(1, True, ["19:00"]).add(2, False, []).add(3, False, []).add(4, True, [])
    ev = advance(*q.frames()).events.filter(pl.col("event_type") == "CLOSED").row(0, named=True)
    assert ev["observed_at"] == T0 + timedelta(minutes=4)
    assert (ev["duration_min_seconds"], ev["duration_max_seconds"]) == (0.0, 240.0)


def test_slot_reopening_is_a_second_lifecycle_with_one_closed_each() -> None:
    p = Polls().add(0, True, []).add(1, True, ["18:00"]).add(2, True, []).add(3, True, ["18:00"]).add(4, True, [])
    adv = advance(*p.frames())
    assert events_of(adv) == [("18:00", "CLOSED", 2), ("18:00", "CLOSED", 4), ("18:00", "NEW_DROP", 1),
                              ("18:00", "NEW_DROP", 3)]
    assert adv.events["event_id"].n_unique() == 4


def test_two_party_sizes_are_separate_inventory() -> None:
    p = Polls()
    p.add(0, True, ["19:30"], party=2).add(0, True, [], party=4)
    p.add(1, True, ["19:30"], party=2).add(1, True, ["19:30"], party=4)
    p.add(2, True, [], party=2).add(2, True, ["19:30"], party=4)
    adv = advance(*p.frames())
    got = sorted(adv.events.select("party_size", "event_type").rows())
    assert got == [(2, "BASELINE_AVAILABLE"), (2, "CLOSED"), (4, "NEW_DROP")]


def test_day_release_gives_baseline_not_drops() -> None:
    """A day that enters the polled window (its release) starts with BASELINE_AVAILABLE, other days keep going."""
    later = DAY + timedelta(days=1)
    p = Polls().add(0, True, []).add(1, True, ["19:00"])
    p.add(1, True, ["17:00", "19:00", "21:00"], day=later).add(2, True, ["17:00"], day=later).add(2, True, ["19:00"])
    adv = advance(*p.frames())
    rel = adv.events.filter(pl.col("slot_date") == later)
    assert sorted(rel.select("slot_time", "event_type").rows()) == [
        ("17:00", "BASELINE_AVAILABLE"), ("19:00", "BASELINE_AVAILABLE"), ("19:00", "CLOSED"),
        ("21:00", "BASELINE_AVAILABLE"), ("21:00", "CLOSED")]
    assert rel.filter(pl.col("event_type") == "CLOSED")["duration_max_seconds"].is_null().all()
    old = adv.events.filter(pl.col("slot_date") == DAY)
    assert old.select("slot_time", "event_type").rows() == [("19:00", "NEW_DROP")]


def test_split_batches_and_restart_equal_one_batch_and_replays_change_nothing() -> None:
    p = Polls().add(0, True, ["19:00"]).add(1, True, []).add(2, False, []).add(3, True, ["20:00"])
    p.add(4, True, ["20:00", "19:00"]).add(5, True, ["19:00"])
    whole = advance(*p.frames())
    first = advance(*p.frames(0, 3))
    second = advance(*p.frames(3), first.key_state, first.slot_state)  # state as reloaded after a restart
    split = pl.concat([first.events, second.events]).sort("event_id")
    assert split.equals(whole.events.sort("event_id"))
    assert second.slot_state.equals(whole.slot_state) and second.key_state.equals(whole.key_state)
    replay = advance(*p.frames(), whole.key_state, whole.slot_state)
    assert replay.events.height == 0 and replay.stats["replayed_or_late"] == 6
    assert replay.slot_state.equals(whole.slot_state)


def test_seating_time_passing_is_expiry_not_a_booking() -> None:
    day = date(2016, 7, 20)  # 17:00 New York = 21:00 UTC, i.e. minute 420 after T0
    p = Polls().add(0, True, [], day=day).add(400, True, ["17:00"], day=day).add(421, True, [], day=day)
    adv = advance(*p.frames())
    assert adv.events.select("event_type").to_series().to_list() == ["NEW_DROP"]
    assert adv.slot_state["status"].to_list() == ["expired"]
