"""Owners and code versions of every asset, set in one place for the whole code location.

Owners: who answers for an asset group (Dagster shows them on every asset and filters by them). Code version: a
digest of what computes the asset (its SQL file for a SQL model, else its Python function's source), so the UI can
tell an asset whose code changed since it was last materialised.
"""

import hashlib
import inspect
from datetime import timedelta

import dagster as dg

from hotel_pipeline.core import settings
from hotel_pipeline.core.clock import utc_offset_minutes
from hotel_pipeline.core.portfolio import Portfolio

#: Team per asset group; a group not named here belongs to the data platform team.
OWNERS = {
    "pacing": "team:revenue-management",
    "reports": "team:revenue-management",
    "exports": "team:revenue-management",
    "occupancy": "team:hotel-operations",
    "dining": "team:market-intelligence",
}
DEFAULT_OWNER = "team:data-platform"


def code_version(assets_def: dg.AssetsDefinition, key: dg.AssetKey) -> str:
    """12 hex digits of the SQL file's bytes (SQL models) or of the compute function's source (Python assets)."""
    sql = assets_def.specs_by_key[key].metadata.get("sql_file")
    if sql is not None:
        text = (settings.REPO_ROOT / str(getattr(sql, "value", sql))).read_bytes()
    else:
        fn = getattr(assets_def.op.compute_fn, "decorated_fn", None)
        text = inspect.getsource(fn).encode() if fn is not None else key.to_user_string().encode()
    return hashlib.sha256(text).hexdigest()[:12]


#: Assets the 03:00 recorder job materialises: "did the recorder run?" is their freshness question.
RECORDER_ASSETS = ("pacing_snapshots", "pickup")


def recorder_freshness(portfolio: Portfolio) -> dg.FreshnessPolicy:
    """Materialised between 03:00 and 04:00 hotel-local every day (the recorder fires at 03:00).

    A portfolio spanning several zones is judged in the zone whose 03:00 comes last (its latest recorder)."""
    zone = min(portfolio.timezones, key=utc_offset_minutes)  # the westernmost zone: its 03:00 is the latest
    return dg.FreshnessPolicy.cron(deadline_cron="0 4 * * *", lower_bound_delta=timedelta(hours=1), timezone=zone)


def catalogue(assets_def: dg.AssetsDefinition, freshness: dict[str, dg.FreshnessPolicy]) -> dg.AssetsDefinition:
    """The asset with its group's owner, its code version and freshness (each kept if the asset sets it itself)."""
    def _spec(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.replace_attributes(
            owners=list(spec.owners) or [OWNERS.get(spec.group_name or "", DEFAULT_OWNER)],
            code_version=spec.code_version or code_version(assets_def, spec.key),
            freshness_policy=spec.freshness_policy or freshness.get(spec.key.to_user_string()),
        )

    return assets_def.map_asset_specs(_spec)


def catalogued(defs: dg.Definitions, portfolio: Portfolio) -> dg.Definitions:
    """``defs`` with every asset catalogued."""
    freshness = dict.fromkeys(RECORDER_ASSETS, recorder_freshness(portfolio))
    assets = [catalogue(a, freshness) if isinstance(a, dg.AssetsDefinition)
              else a.replace_attributes(owners=list(a.owners) or [OWNERS.get(a.group_name or "", DEFAULT_OWNER)])
              if isinstance(a, dg.AssetSpec) else a for a in defs.assets or []]
    return dg.Definitions(assets=assets, asset_checks=defs.asset_checks, jobs=defs.jobs, schedules=defs.schedules,
                          sensors=defs.sensors, resources=defs.resources, executor=defs.executor,
                          loggers=defs.loggers, metadata=defs.metadata)
