"""One poll round: every configured venue x released day x party size, through the platform's HTTP API."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from hotel_pipeline.dining.client import PollAttempt, ResyClient
from hotel_pipeline.dining.config import DiningConfig
from hotel_pipeline.dining.transitions import attempts_frame, observations_frame


def poll_round(client: ResyClient, config: DiningConfig, at: datetime,
               ) -> tuple[pl.DataFrame, pl.DataFrame, list[PollAttempt]]:
    """Attempts, observations and the raw attempts of the round at naive-UTC ``at`` (its ``polled_at``)."""
    attempts, obs, raw = [], [], []
    for vid in config.venue_ids:
        for day in config.released_days(at):
            for ps in config.party_sizes:
                res = client.find(vid, day, ps, at)
                attempts.append({"provider": config.provider, "venue_id": str(vid), "party_size": ps,
                                 "slot_date": day, "polled_at": at, "ok": res.ok})
                obs.extend({**row, "polled_at": at} for row in res.slots)
                raw.append(res)
    return attempts_frame(attempts), observations_frame(obs), raw
