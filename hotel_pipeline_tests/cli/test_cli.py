"""The command line: conventions a user relies on (help, version, ISO dates, refusals with a non-zero exit)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hotel_pipeline.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[2]


def _commands(group: click.Group, ctx: click.Context, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{prefix}{name} is listed but does not load"
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, click.Context(command, parent=ctx), f"{prefix}{name} ")
    return found


def test_the_workshop_commands_are_plugged_in_through_entry_points() -> None:
    ctx = click.Context(main)
    names = {name for name, _ in _commands(main, ctx)}
    assert {"demo", "exports", "sandbox", "sandbox serve", "bench"} <= names
    assert set(COMMANDS) <= names


def test_every_option_has_help_and_no_rst_markup() -> None:
    ctx = click.Context(main)
    for name, command in [("", main), *_commands(main, ctx)]:
        assert command.help and "``" not in command.help, name
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.help, f"{name} {param.opts} has no help"
                assert "``" not in param.help, f"{name} {param.opts}"


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("hotel-pipeline ")


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2016-07-31", "--to", "2016-07-01"], "is after --to"),
    (["--from", "31/07/2016", "--to", "2016-08-01"], "write it as YYYY-MM-DD"),
    (["--from", "2016-07-01", "--to", "2016-07-01", "--hotel", "H9"], "H9 is not in the portfolio"),
])
def test_bad_input_exits_non_zero_with_a_message(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["exports", *args, "--dest", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not list(tmp_path.iterdir())


def test_exports_writes_one_file_per_hotel_and_date(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["exports", "--from", "2016-07-29", "--to", "2016-07-30", "--hotel", "H2",
                                       "--dest", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "H2_hotel_bookings_asof_2016-07-29.csv", "H2_hotel_bookings_asof_2016-07-30.csv"]


def test_the_installed_script_lists_plugins_without_loading_them() -> None:
    """The installed script finds the workshop's commands by entry point name; listing them imports none."""
    code = ("import sys; from hotel_pipeline.cli import main; import click; "
            "print(main.list_commands(click.Context(main))); "
            "print(any(m.startswith('hotel_pipeline.workshop') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    listed, loaded = out.stdout.strip().splitlines()
    assert "'demo'" in listed and loaded == "False"
    script = Path(sys.executable).with_name("hotel-pipeline")
    result = subprocess.run([str(script), "sandbox", "serve", "--help"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0 and "--port" in result.stdout


def test_the_sandbox_help_names_every_vendor() -> None:
    from hotel_pipeline.workshop.sandbox.cli import VENDORS
    from hotel_pipeline.workshop.sandbox.pms.vendors import vendor_classes

    assert sorted(VENDORS) == sorted(vendor_classes())
