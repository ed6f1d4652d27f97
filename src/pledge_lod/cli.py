"""The ``pledge-lod`` command line.

Each subcommand is a thin layer: parse arguments into :class:`~pledge_lod.config.Settings`,
call the stage that does the work, print what a person needs, and exit 0 on success, 1
when the data has problems, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .config import Settings, from_environment
from .records import Problem


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base", help="base of every minted IRI (default: from the release or %(default)s)"
    )
    parser.add_argument("--data", dest="data_dir", type=Path, help="folder of the YAML sources")
    parser.add_argument("--releases", dest="releases_dir", type=Path, help="folder of releases")


def _settings(args: argparse.Namespace) -> Settings:
    names = ("base", "data_dir", "releases_dir", "host", "port", "workers", "threads", "backend")
    values = {k: getattr(args, k, None) for k in names}
    return from_environment().with_overrides(**values)


def _print_problems(problems: Sequence[Problem]) -> None:
    for p in sorted(problems, key=lambda p: (p.severity != "error", p.file, p.record, p.field)):
        prefix = "" if p.severity == "error" else f"{p.severity}: "
        print(f"{prefix}{p}", file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    from .release import check

    result = check(_settings(args), progress=_quiet if args.quiet else _stderr)
    _print_problems(result.problems)
    if result.errors:
        print(
            f"{len(result.errors)} problems in the data: fix them and run validate again.",
            file=sys.stderr,
        )
        return 1
    print(
        f"valid: {result.pledges} pledges"
        + (f" ({result.drafts} drafts not checked)" if result.drafts else "")
    )
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from .release import build

    settings = _settings(args)
    if args.jobs is not None:
        settings = settings.with_overrides(validation_jobs=args.jobs)
    result = build(settings, progress=_quiet if args.quiet else _stderr, switch=not args.no_switch)
    _print_problems(result.problems)
    if not result.ok or result.release is None:
        print(
            f"build failed: {len(result.errors)} problems; nothing was published.", file=sys.stderr
        )
        return 1
    rel = result.release
    state = "now current" if result.switched else "not switched in (--no-switch)"
    pledges, triples = rel.counts.get("pledges", 0), rel.counts.get("triples", 0)
    print(f"release {rel.id}: {pledges} pledges, {triples} triples; {state}")
    print(f"  {rel.path}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .importer import run_import

    settings = _settings(args)
    missing = [f for f in args.files if not Path(f).is_file()]
    for f in missing:
        print(f"{f}: no such file", file=sys.stderr)
    files = [Path(f) for f in args.files if Path(f).is_file()]
    report = run_import(files, settings.data_dir, force=args.force)
    print(report.format())
    return 1 if missing or report.exit_code else 0


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _quiet(message: str) -> None:
    pass


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pledge-lod",
        description="Publish migration pledges and practices as Linked Open Data.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check the YAML sources against the shapes; write nothing")
    _common(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("build", help="validate and write a new release, then make it current")
    _common(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.add_argument("--jobs", type=int, help="validation processes (default: one per CPU)")
    p.add_argument(
        "--no-switch",
        action="store_true",
        help="write the release but keep serving the current one",
    )
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("import", help="turn listing-page text into draft YAML records")
    _common(p)
    p.add_argument("files", nargs="+", metavar="FILE", help="listing page text files")
    p.add_argument(
        "--force", action="store_true", help="replace curated records' title, summary and submitter"
    )
    p.set_defaults(func=cmd_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:  # bad settings values
        print(f"pledge-lod: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
