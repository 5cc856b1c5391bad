"""One poll round: every configured venue x released day x party size, through the platform's HTTP API."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from hotel_pipeline.dining.client import PollAttempt, ResyClient, RoundPlan, round_plan
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


def plan_round(config: DiningConfig, at: datetime) -> RoundPlan:
    """The round at naive-UTC ``at`` (every venue x released day x party size) against the credential's budget
    (``min_request_interval_s``, default one request per 2 s) and the poll interval: ``describe()`` says whether it
    fits or how long a round really takes."""
    requests = len(config.venue_ids) * len(config.released_days(at)) * len(config.party_sizes)
    return round_plan(requests, config.min_request_interval_s, config.poll_interval_s)
