"""Generate the table sections of docs/warehouse.md from the code's own declarations, so the dictionary cannot drift.

Every table the pipeline writes is declared once: SQL models in their header, Python-written tables as a ``TableSpec``
in the module that writes them. This walks both and renders one section per table (grain, meaning, columns).
``python -m hotel_pipeline.core.warehouse_docs`` rewrites the generated part; a test fails when the file is out of date.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import hotel_pipeline
from hotel_pipeline.core import settings
from hotel_pipeline.core.sql_models import load_models
from hotel_pipeline.core.warehouse import TableSpec

DOC = settings.REPO_ROOT / "docs" / "warehouse.md"
BEGIN = "<!-- BEGIN GENERATED TABLES (python -m hotel_pipeline.core.warehouse_docs) -->"
END = "<!-- END GENERATED TABLES -->"
#: Modules that only run code when imported as programs are not walked.
SKIP = {"hotel_pipeline.workshop.bench", "hotel_pipeline.workshop.demo", "hotel_pipeline.cli", "hotel_pipeline.workshop.dining_bench",
        "hotel_pipeline.workshop.pms_bench", "hotel_pipeline.workshop.dining_demo", "hotel_pipeline.definitions"}


def declared_specs() -> dict[str, tuple[TableSpec, str]]:
    """Every module-level TableSpec in the package, by table name, with the module that declares it."""
    found: dict[str, tuple[TableSpec, str]] = {}
    names = [i.name for i in pkgutil.walk_packages(hotel_pipeline.__path__, "hotel_pipeline.")]
    # Shallow modules first: a spec is credited to the module that declares it, not to one that imports it.
    for name in sorted(names, key=lambda n: (n.count("."), n)):
        if name in SKIP or ".sandbox." in name or name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, TableSpec) and value.name not in found and value.doc:
                found[value.name] = (value, name)
    return found


def render() -> str:
    sections = []
    entries: dict[str, tuple[str, str, str, list[tuple[str, str, str]]]] = {}
    for m in load_models().values():
        grain = ", ".join(m.unique_key) if m.unique_key else ""
        entries[m.name] = (m.description, grain, f"SQL model `dbt_like_sql/{m.path.name}` ({m.materialized})",
                           [(c.name, c.type, c.doc) for c in m.columns])
    for name, (spec, module) in declared_specs().items():
        if name not in entries:
            entries[name] = (spec.doc, spec.grain or ", ".join(spec.primary_key), f"written by `{module}`",
                             [(c.name, c.type, c.doc) for c in spec.columns])
    for name in sorted(entries):
        doc, grain, origin, columns = entries[name]
        lines = [f"### `{name}`", "", doc, ""]
        if grain:
            lines.append(f"Grain: one row per ({grain}). ")
        lines += [f"Origin: {origin}.", "", "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{c}` | {t} | {d.replace('|', '/')} |" for c, t, d in columns]
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def updated(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n\n{render()}\n\n{END}{tail}"


def main() -> int:
    text = DOC.read_text(encoding="utf-8")
    new = updated(text)
    if "--check" in sys.argv:
        return 0 if new == text else 1
    Path(DOC).write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
