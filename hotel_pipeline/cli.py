"""``hotel-pipeline``: the command line (demo, daily exports, vendor sandboxes)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from hotel_pipeline.core import settings


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="hotel-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the contract's demo on the embedded default and print the pickup summary")
    gen = sub.add_parser("exports", help="write the daily 'as of business date' CSV exports of the data set")
    gen.add_argument("--from", dest="start", required=True, type=date.fromisoformat)
    gen.add_argument("--to", dest="end", required=True, type=date.fromisoformat)
    gen.add_argument("--dest", type=Path, default=None, help="folder (default: the inbox, data/inbox/)")
    gen.add_argument("--hotel", action="append", help="hotel id (repeatable; default: both)")
    sub.add_parser("sandbox", help="vendor sandboxes: `hotel-pipeline sandbox serve --help`", add_help=False)
    if argv[:1] == ["sandbox"]:
        from hotel_pipeline.workshop.sandbox.cli import serve_main

        return int(serve_main(argv[1:]) or 0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from hotel_pipeline.workshop.demo import main as demo_main

        demo_main()
        return 0
    if args.command == "exports":
        from hotel_pipeline.workshop.legacy_exports import write_daily_exports

        paths = write_daily_exports(args.dest or settings.inbox_dir(), args.start, args.end, args.hotel)
        for p in paths:
            print(p)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
