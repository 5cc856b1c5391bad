"""``hotel_pipeline/defs/<domain>/`` holds the domain's Dagster objects only; its library code lives in
``hotel_pipeline/<domain>/`` (the rule of docs/architecture.md).

A module under ``defs/`` may define assets, checks, jobs, schedules, sensors, their run configs (``dg.Config``) and
functions that build or feed them (whose signature takes or returns a Dagster type). A plain function or class there
(a parser, a planner, a table spec, a resource class) is library code in the wrong place.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing

import dagster as dg

import hotel_pipeline.defs

#: What a Dagster object defined in a ``defs`` module may be.
DAGSTER_OBJECTS = (dg.AssetsDefinition, dg.AssetChecksDefinition, dg.JobDefinition, dg.SensorDefinition,
                   dg.ScheduleDefinition, dg.OpDefinition, dg.Definitions, dg.FreshnessPolicy)


def _is_dagster_type(annotation: object) -> bool:
    module = getattr(annotation, "__module__", "") or ""
    return module.startswith("dagster") or any(_is_dagster_type(a) for a in typing.get_args(annotation))


def _dagster_facing(fn: object) -> bool:
    """A function whose signature takes or returns a Dagster type (it builds or feeds Dagster objects)."""
    hints = typing.get_type_hints(fn)
    return any(_is_dagster_type(h) for h in hints.values())


def library_code_in(module_name: str) -> list[str]:
    """Names defined in ``module_name`` that are neither Dagster objects nor Dagster-facing functions."""
    module = importlib.import_module(module_name)
    found = []
    for name, obj in vars(module).items():
        if name.startswith("__") or getattr(obj, "__module__", None) != module_name:
            continue
        if isinstance(obj, DAGSTER_OBJECTS) or (inspect.isclass(obj) and issubclass(obj, dg.Config)
                                                  and not issubclass(obj, dg.ConfigurableResource)):
            continue
        if inspect.isfunction(obj) and _dagster_facing(obj):
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            found.append(f"{module_name}.{name}")
    return found


def defs_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(hotel_pipeline.defs.__path__, "hotel_pipeline.defs.")
            if not m.ispkg]


def test_defs_modules_hold_only_dagster_objects() -> None:
    assert len(defs_modules()) >= 15
    assert [name for module in defs_modules() for name in library_code_in(module)] == []


def test_the_rule_catches_library_code(tmp_path, monkeypatch) -> None:
    """A resource class and a plain planning function planted in a defs module are named."""
    (tmp_path / "planted_defs.py").write_text(
        "import dagster as dg\n\n\n"
        "class Planted(dg.ConfigurableResource):\n    root: str = ''\n\n\n"
        "def plan(names: list[str]) -> list[str]:\n    return sorted(names)\n\n\n"
        "@dg.asset\ndef planted_asset() -> None:\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert library_code_in("planted_defs") == ["planted_defs.Planted", "planted_defs.plan"]
