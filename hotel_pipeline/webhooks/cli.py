"""``hotel-pipeline webhooks``: serve the receiver, replay stored events."""

from __future__ import annotations

import gc
from datetime import datetime
from pathlib import Path

import click


@click.group(name="webhooks", help="The webhook receiver and its inbox.")
def webhooks() -> None:
    pass


@webhooks.command(help="Serve the receiver (uvicorn) with one route per vendor and hotel of the portfolio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8780, show_default=True, type=int, help="TCP port to listen on (0: a free one).")
@click.option("--spool", "spool_root", type=click.Path(path_type=Path), default=None,
              help="Folder of stored deliveries (default $HOTEL_PIPELINE_DATA_DIR/raw/webhooks).")
@click.option("--max-body-bytes", default=None, type=int, help="Body size limit (default 256 KiB).")
def serve(host: str, port: int, spool_root: Path | None, max_body_bytes: int | None) -> None:
    import uvicorn

    from hotel_pipeline.core.portfolio import current_portfolio
    from hotel_pipeline.webhooks.receiver import MAX_BODY_BYTES, build_app
    from hotel_pipeline.webhooks.spool import Spool
    from hotel_pipeline.webhooks.vendors import portfolio_endpoints

    endpoints = portfolio_endpoints(current_portfolio())
    for e in endpoints:
        state = "ready" if e.secret else f"DISABLED: set {e.secret_env}"
        click.echo(f"POST {e.path}  ({e.vendor}, {e.auth}) {state}", err=True)
    app = build_app(endpoints, Spool(spool_root), max_body_bytes=max_body_bytes or MAX_BODY_BYTES)
    # What start-up allocated (modules, routes, the journal's known keys) lives as long as the process: set aside from
    # the collector, so that a full collection between two answers walks only what the requests made.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, timeout_keep_alive=30)


def _instant(text: str) -> datetime:
    from hotel_pipeline.core.clock import parse_instant

    return parse_instant(text)


@webhooks.command(help="Re-process the stored events of a hotel received between --from and --to (ISO instants).")
@click.option("--hotel", "hotel_id", required=True, help="Portfolio hotel id whose events to replay, e.g. H1.")
@click.option("--from", "start", required=True, type=_instant, help="First receipt instant, ISO-8601 (inclusive).")
@click.option("--to", "end", required=True, type=_instant, help="Last receipt instant, ISO-8601 (inclusive).")
def replay(hotel_id: str, start: datetime, end: datetime) -> None:
    from hotel_pipeline.core.clock import Clock
    from hotel_pipeline.core.portfolio import current_portfolio
    from hotel_pipeline.core.warehouse import Warehouse
    from hotel_pipeline.webhooks.apply import replay as replay_events

    if hotel_id not in current_portfolio().hotel_ids:
        raise click.BadParameter(f"{hotel_id!r} is not in the portfolio ({', '.join(current_portfolio().hotel_ids)})",
                                 param_hint="--hotel")
    if end < start:
        raise click.BadParameter(f"--to {end.isoformat()} is before --from {start.isoformat()}", param_hint="--to")

    results = replay_events(Warehouse(), current_portfolio(), Clock(), hotel_id, start, end)
    for r in results:
        click.echo(f"{r.hotel_id} {r.vendor}: {r.events} events, {r.ids} ids, {r.accepted} new versions, "
                   f"{r.board_rows_changed} board rows changed ({r.outcome})")
    if not results:
        click.echo(f"no stored events of {hotel_id} in that range")
