"""The ``pledge-lod`` command line.

Each subcommand is a thin layer: parse arguments into :class:`~pledge_lod.config.Settings`,
call the stage that does the work, print what a person needs, and exit 0 on success, 1
when the data has problems, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .config import Settings, from_environment
from .records import Problem


def _where(path: Path) -> str:
    """A default folder as a person would type it: relative to here when it is below."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _options(parser: argparse.ArgumentParser, *names: str, base_help: str = "") -> None:
    """The shared options a command uses, each help showing the real default (the
    built-in one, or the PLEDGE_LOD_* variable that overrides it). Their values stay None
    unless given, so that only what was typed overrides the settings."""
    defaults = from_environment()
    if "base" in names:
        parser.add_argument("--base", help=base_help or "base of every minted IRI "
                            f"(default: {defaults.base})")
    if "data" in names:
        parser.add_argument("--data", dest="data_dir", type=Path, metavar="DIR",
                            help=f"folder of the YAML sources (default: "
                                 f"{_where(defaults.data_dir)})")
    if "releases" in names:
        parser.add_argument("--releases", dest="releases_dir", type=Path, metavar="DIR",
                            help=f"folder of the releases (default: "
                                 f"{_where(defaults.releases_dir)})")


def _settings(args: argparse.Namespace) -> Settings:
    names = ("base", "data_dir", "releases_dir", "host", "port", "workers", "threads", "backend")
    values = {k: getattr(args, k, None) for k in names}
    return from_environment().with_overrides(**values)


def _print_problems(problems: Sequence[Problem]) -> None:
    for p in sorted(problems, key=lambda p: (p.severity != "error", p.file, p.record, p.field)):
        prefix = "" if p.severity == "error" else f"{p.severity}: "
        print(f"{prefix}{p}", file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    from .build import BuildInputs, check

    inputs = BuildInputs.of(_settings(args))
    result = check(inputs, progress=_quiet if args.quiet else _stderr, engine=args.engine)
    _print_problems(result.problems)
    if result.errors:
        count = len(result.errors)
        what = "1 problem: fix it" if count == 1 else f"{count} problems: fix them"
        print(f"{what} and run validate again.", file=sys.stderr)
        return 1
    print(
        f"valid: {result.pledges} pledges"
        + (f" ({result.drafts} drafts not checked)" if result.drafts else "")
    )
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from .build import BackgroundError, BuildInputs, build
    from .build.releases_folder import Retention

    settings = _settings(args).with_overrides(
        validation_jobs=args.jobs, keep_releases=args.keep, keep_days=args.keep_days
    )
    if settings.keep_releases < 1 or settings.keep_days < 0:
        print("pledge-lod: --keep must be at least 1 (the current release) and "
              "--keep-days at least 0", file=sys.stderr)  # fmt: skip
        return 2
    try:
        result = build(
            BuildInputs.of(settings),
            progress=_quiet if args.quiet else _stderr,
            switch=not args.no_switch,
            keep=Retention(settings.keep_releases, settings.keep_days),
        )
    except BackgroundError as exc:
        print(f"pledge-lod: {exc}; nothing was published.", file=sys.stderr)
        return 1
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


def cmd_diff(args: argparse.Namespace) -> int:
    from .build import BuildInputs
    from .build.diff import (
        DiffError,
        as_json,
        as_rdf_patch,
        as_text,
        version_changes,
        working_changes,
    )

    settings = _settings(args)
    if len(args.versions) not in (0, 2):
        print("pledge-lod diff: give two versions (numbers or release ids), or none to "
              "compare the working data with the current release", file=sys.stderr)  # fmt: skip
        return 2
    try:
        if args.versions:
            cmp = version_changes(settings.releases_dir, *args.versions)
        else:
            cmp = working_changes(BuildInputs.of(settings), _quiet if args.quiet else _stderr)
    except DiffError as exc:
        print(exc)
        return 0
    render = {"text": as_text, "json": as_json, "rdf-patch": as_rdf_patch}[args.format]
    sys.stdout.write(render(cmp))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .ingest.importer import run_import

    settings = _settings(args)
    missing = [f for f in args.files if not Path(f).is_file()]
    for f in missing:
        print(f"{f}: no such file", file=sys.stderr)
    files = [Path(f) for f in args.files if Path(f).is_file()]
    report = run_import(files, settings.data_dir, force=args.force)
    print(report.format())
    return 1 if missing or report.exit_code else 0


def cmd_synth(args: argparse.Namespace) -> int:
    from .ingest.synth import synthesize

    settings = _settings(args)
    if args.pledges < 0:
        print("pledge-lod synth: --pledges must be 0 or more", file=sys.stderr)
        return 2
    report = synthesize(settings.data_dir, args.out, args.pledges, args.seed)
    print(
        f"wrote {report.pledges} pledges in {report.files} files, {report.places} places and "
        f"{report.agents} agents to {report.out}"
    )
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from .sparql.command import main as query_main

    settings = _settings(args)
    if args.timeout is not None:
        settings = settings.with_overrides(query_timeout_s=args.timeout)
    return query_main(settings, args.query, args.endpoint, args.format)


def cmd_serve(args: argparse.Namespace) -> int:
    from .server.serve import serve

    return serve(_settings(args), dev=args.dev, base_given=args.base is not None)


def cmd_publish(args: argparse.Namespace) -> int:
    from .publish import PublishError, Target, run
    from .store import ReleaseError, StoreError

    settings = _settings(args)
    try:
        target = Target.resolve(settings, args.to, args.user, args.password, args.update_url,
                                args.gsp_url, args.timeout)
        result = run(settings, target, release_dir=args.release, keep=args.keep,
                     rollback=args.rollback, chunk=args.chunk,
                     progress=_quiet if args.quiet else _stderr)
    except (PublishError, StoreError, ReleaseError) as exc:
        print(f"pledge-lod publish: {exc}", file=sys.stderr)
        return 1
    print(f"release {result.release}: {result.action} on {target.query_url}"
          + (f" (previous: {result.previous})" if result.previous else ""))
    return 0


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _quiet(message: str) -> None:
    pass


def _command(sub: argparse._SubParsersAction, name: str, summary: str,
             description: str) -> argparse.ArgumentParser:
    """A subcommand: one line in the command list, a paragraph on its own --help."""
    return sub.add_parser(name, help=summary, description=description)


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "validate", "check the YAML sources against the shapes; write nothing",
                 "Read the YAML sources, map them to RDF and check them against the SHACL "
                 "shapes, as a build does, writing no release. Each problem is printed with "
                 "its file, record and field; exit 1 if there is any.")
    _options(p, "base", "data", "releases")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.add_argument(
        "--engine",
        choices=("sparql", "pyshacl"),
        default="sparql",
        help="sparql: shapes compiled to SPARQL on Oxigraph (fast); pyshacl: the reference",
    )
    p.set_defaults(func=cmd_validate)


def _add_build(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "build", "validate and write a new release, then make it current",
                 "Validate the YAML sources and write a new release (dumps, store, VoID, "
                 "sitemap) into the releases folder, then make it the current one. A build "
                 "that finds a problem publishes nothing. Rebuilding reuses what did not "
                 "change.")
    _options(p, "base", "data", "releases")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.add_argument("--jobs", type=int, help="validation processes (default: one per CPU)")
    p.add_argument(
        "--no-switch",
        action="store_true",
        help="write the release but keep serving the current one",
    )
    p.add_argument("--keep", type=int, metavar="N", help="releases to keep, the current one "
                   "among them (default: 3; PLEDGE_LOD_KEEP_RELEASES)")
    p.add_argument("--keep-days", type=float, metavar="D", help="also keep every release made "
                   "in the last D days (default: 0, none; PLEDGE_LOD_KEEP_DAYS); the history "
                   "of versions is never pruned")
    p.set_defaults(func=cmd_build)


def _add_diff(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "diff", "what a build would change, or what changed between versions",
                 "Without arguments: what the working data would change against the current "
                 "release (records added, removed, and changed field by field). With two "
                 "versions (numbers, release ids, or 'latest'): what changed between them.")
    _options(p, "data", "releases")
    p.add_argument("versions", nargs="*", metavar="VERSION", help="two recorded versions")
    p.add_argument("--format", choices=("text", "json", "rdf-patch"), default="text",
                   help="text for people (default), json, or an RDF Patch")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_diff)


def _add_import(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "import", "turn listing-page text into draft YAML records",
                 "Read the text of listing pages of the source database (such as "
                 "data/sources/*.txt) and write each new item as a draft record "
                 "(status: draft) into the data folder. Items already there are recognised "
                 "by id or title and only get new taxonomy terms.")
    _options(p, "data")
    p.add_argument("files", nargs="+", metavar="FILE", help="listing page text files")
    p.add_argument(
        "--force", action="store_true", help="replace curated records' title, summary and submitter"
    )
    p.set_defaults(func=cmd_import)


def _add_synth(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "synth", "write synthetic pledges in the curated YAML form",
                 "Write a data folder of synthetic pledges, built from the registries of the "
                 "data folder, for benchmarks and scale tests. The same seed gives the same "
                 "data.")
    _options(p, "data")
    p.add_argument("--pledges", type=int, required=True, help="how many pledges")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    p.add_argument("--out", type=Path, required=True, help="data folder to write (replaced)")
    p.set_defaults(func=cmd_synth)


def _add_query(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "query", "run a SPARQL query on the release or on any endpoint",
                 "Run a SPARQL 1.1 query on the current release, with the endpoint's own "
                 "rules (no SERVICE, no updates, its time limit), or on any SPARQL endpoint "
                 "with --endpoint. Prints a table, or the answer in the --format asked for.")
    _options(p, "releases")
    p.add_argument("query", metavar="QUERY", help="the query text, @FILE, or - for stdin")
    p.add_argument("--endpoint", metavar="URL", help="query this SPARQL endpoint instead")
    p.add_argument("--format", default="table", help="table (default), json, xml, csv, tsv, "
                   "ttl, nt, rdf or jsonld",
                   choices=["table", "json", "xml", "csv", "tsv", "ttl", "nt", "rdf", "jsonld"])
    p.add_argument("--timeout", type=float, help="time limit in seconds (default: the setting)")
    p.set_defaults(func=cmd_query)


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "serve", "serve the current release: Linked Data, pages, SPARQL",
                 "Serve the current release with gunicorn (or Flask's development server "
                 "with --dev): its IRIs dereference, its pages, dumps and VoID, and the "
                 "SPARQL endpoint. The release is checked before anything listens.")
    _options(p, "base", "releases",
             base_help="the base the release must have been built for; refuse to start "
                       "if it was built for another (default: the release's own base)")
    p.add_argument("--host", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default: 8080)")
    p.add_argument("--workers", type=int, help="gunicorn worker processes (default: 2)")
    p.add_argument("--threads", type=int, help="threads per worker (default: 8)")
    p.add_argument("--dev", action="store_true", help="Flask's development server, not gunicorn")
    p.set_defaults(func=cmd_serve)


def _add_publish(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "publish", "push the current release to an external SPARQL store "
                 "and switch to it (or --rollback)",
                 "Load a release into an external SPARQL store (Virtuoso) next to the ones "
                 "it holds, then switch the store's pointer to it, so that app servers on "
                 "the remote backend serve it; --rollback switches back.")
    _options(p, "releases")
    p.add_argument("--to", metavar="URL", help="the store's SPARQL query URL, e.g. "
                   "http://HOST:8890/sparql (default: PLEDGE_LOD_REMOTE_QUERY_URL)")
    p.add_argument("--user", help="user allowed to write (default: PLEDGE_LOD_REMOTE_USER)")
    p.add_argument("--password", help="its password (default: PLEDGE_LOD_REMOTE_PASSWORD)")
    p.add_argument("--release", type=Path, metavar="DIR",
                   help="the release folder to publish (default: the current release)")
    p.add_argument("--keep", type=int, default=1,
                   help="earlier releases kept on the store for rollback (default: 1)")
    p.add_argument("--rollback", action="store_true",
                   help="switch back to the previous release instead of publishing")
    p.add_argument("--update-url", help="SPARQL update URL (default: derived from --to)")
    p.add_argument("--gsp-url", help="Graph Store Protocol URL (default: derived from --to)")
    p.add_argument("--chunk", type=int, default=50_000, help="triples per upload (default: "
                   "%(default)s)")
    p.add_argument("--timeout", type=float, help="seconds per request (default: 300)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_publish)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pledge-lod",
        description="Publish migration pledges and practices as Linked Open Data.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = (_add_validate, _add_build, _add_diff, _add_import, _add_synth, _add_query,
                _add_serve, _add_publish)  # fmt: skip
    for add in commands:  # in the order `pledge-lod --help` lists them
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:  # bad settings values
        print(f"pledge-lod: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, permissions: say what, not where in the code
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"pledge-lod: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:  # the build cache, on a full disk say
        print(
            f"pledge-lod: the build cache could not be used: {exc} "
            "(deleting the .cache folder beside the releases is safe)",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
