"""The ``hotel-pipeline`` command line: one click group, its commands loaded only when used.

Adding a command group:
- a production domain (privacy, webhooks, reports, ...) writes a click group in its own ``hotel_pipeline/<domain>/cli.py``
  and adds ONE line to ``COMMANDS`` below: ``"name": "hotel_pipeline.<domain>.cli:<group>"``; a command that belongs
  under another domain's group is one line in ``SUBCOMMANDS``;
- the workshop (demo, legacy exports, sandboxes, benches) is never named by production code: its commands are
  plugins, one line each in ``[project.entry-points."hotel_pipeline.cli"]`` of pyproject.toml (then ``uv sync``, or any
  ``make`` target, reinstalls the entry points).
Shared parameter types (ISO dates, hotel ids, ranges) are in ``hotel_pipeline.core.cli_params``.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import PackageNotFoundError, entry_points, version

import click

#: Production command groups: name -> "module:attribute" of a click command (one line per domain).
COMMANDS: dict[str, str] = {
    "report": "hotel_pipeline.reports.cli:report",
    "webhooks": "hotel_pipeline.webhooks.cli:webhooks",
    "channel": "hotel_pipeline.channel.cli:channel",
    "privacy": "hotel_pipeline.privacy.cli:privacy",
}
#: Commands a domain adds to another domain's group: group -> {name: "module:attribute"}. The residents list is the
#: occupancy domain's (it reads ``room_nights``) but users find it beside erasure and retention; privacy sits below
#: the domains and cannot import it, so the two meet here, at the top.
SUBCOMMANDS: dict[str, dict[str, str]] = {
    "privacy": {"residents": "hotel_pipeline.occupancy.cli:residents"},
}

#: Entry-point group through which plugins (the workshop) add commands.
PLUGIN_GROUP = "hotel_pipeline.cli"


def _load(target: str) -> click.Command:
    module, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, so ``hotel-pipeline demo`` loads only the demo."""

    def _targets(self) -> dict[str, str]:
        targets = {ep.name: ep.value for ep in entry_points(group=PLUGIN_GROUP)}
        return {**targets, **COMMANDS}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._targets()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = self._targets().get(cmd_name)
        if not target:
            return None
        command = _load(target)
        if isinstance(command, click.Group):
            for name, sub in SUBCOMMANDS.get(cmd_name, {}).items():
                if name not in command.commands:
                    command.add_command(_load(sub), name)
        return command


def _version() -> str:
    try:
        return version("hotel-pipeline")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(_version(), "--version", prog_name="hotel-pipeline", message="%(prog)s %(version)s")
def main() -> None:
    """Hotel data pipeline: reports, exports, the demo and the vendor sandboxes.

    Configuration comes from environment variables (HOTEL_PIPELINE_CONFIG, HOTEL_WAREHOUSE_URL,
    HOTEL_PIPELINE_DATA_DIR, HOTEL_PIPELINE_CLOCK; see the README). Run a command with --help for its options.
    """


if __name__ == "__main__":
    sys.exit(main())
