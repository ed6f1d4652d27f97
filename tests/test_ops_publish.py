"""Publishing while serving: a new release is built and switched in under load, and builds
that fail halfway (a bad record, a full disk, a killed process) leave the served release
as it was.

Under load, every response for the watched pledge (its document in every format, the
listing and the feed that show its title) is checked: the release id in its ETag and the
title in its body must belong to the same release. Workers follow ``current`` by
themselves (no restart, same worker processes), within ``RECHECK_S``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pledge_lod.release import layout
from pledge_lod.store.embedded import RECHECK_S
from support.gunicorn import Server, gunicorn_server, load_result, start_load, summary
from support.paths import ROOT
from support.processes import run_cli
from support.releases import build_release, copy_data
from support.web import client_for

pytestmark = pytest.mark.slow  # the slow tier: publishing under load, gunicorn

BASE = "http://127.0.0.1:9"
TITLE_A = "Ops marker title A"
TITLE_B = "Ops marker title B"
TITLE_C = "Ops marker title C"


@dataclass
class Site:
    work: Path
    data: Path
    releases: Path
    server: Server
    slug: str
    record_path: Path

    def set_title(self, title: str) -> None:
        record = yaml.safe_load(self.record_path.read_text(encoding="utf-8"))
        record["title"] = title
        self.record_path.write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")

    def current(self) -> str:
        return layout.read_current(self.releases).id

    def fetch(self, path: str) -> tuple[int, str, str]:
        """(status, release id from the ETag, body) from the live server."""
        with urllib.request.urlopen(self.server.url + path, timeout=30) as resp:
            body = resp.read().decode("utf-8")
            return resp.status, resp.headers["ETag"].strip('W/"').split("-")[0], body


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A private copy of the data whose first pledge is titled TITLE_A, built, and served
    by gunicorn."""
    work = tmp_path_factory.mktemp("publish")
    data = copy_data(work / "data")
    record_path = sorted((data / "pledges").glob("*.yaml"))[0]
    releases = work / "releases"
    found = Site(work, data, releases, None, record_path.stem, record_path)  # type: ignore[arg-type]
    found.set_title(TITLE_A)
    result = build_release(data, releases, BASE)
    assert result.returncode == 0, result.stderr
    with gunicorn_server(releases, work / "server.log") as server:
        found.server = server
        yield found


def manifest_intact(release: Path) -> None:
    """Every file the manifest lists is there with its checksum; the store opens."""
    info = layout.read_release(release)
    for name, meta in info.files.items():
        digest = hashlib.sha256((release / name).read_bytes()).hexdigest()
        assert digest == meta["sha256"], name


def test_switch_under_load_mixes_no_releases(site: Site) -> None:
    old_id = site.current()
    workers = sorted(site.server.workers())
    watch = [f"/doc/pledge/{site.slug}"] + [
        f"/doc/pledge/{site.slug}.{ext}" for ext in ("html", "ttl", "jsonld", "nt", "rdf")
    ] + ["/pledges.atom", "/pledges"]
    out, stop = site.work / "switch-load.json", site.work / "switch-stop"
    proc = start_load(site.server.url, out, clients=16, duration=90, watch=watch,
                      titles=[TITLE_A, TITLE_B], stop_file=stop)
    try:
        time.sleep(2.5)
        site.set_title(TITLE_B)
        before_build = time.time()
        built = build_release(site.data, site.releases, BASE)
        after_build = time.time()
        assert built.returncode == 0, built.stderr
        time.sleep(RECHECK_S + 3)
    finally:
        stop.touch()
    result = load_result(proc, out, timeout=120)
    print("\nswitch under load:", summary(result))
    new_id = site.current()
    assert new_id != old_id

    assert result["failures"] == 0, json.dumps(result["failure_samples"][:10], indent=1)
    assert result["sparql_refused"] == 0
    seen = {old_id: 0, new_id: 0}
    for when, path, release, titles in result["watch"]:
        assert release in (old_id, new_id), (path, release)
        expected = TITLE_A if release == old_id else TITLE_B
        assert titles == [expected], f"{path} from release {release} carried {titles}"
        seen[release] += 1
        if when < before_build:
            assert release == old_id, (path, when)
        if when > after_build + RECHECK_S + 1.0:
            assert release == new_id, f"{path} still served the old release at {when}"
    assert seen[old_id] > 20 and seen[new_id] > 20, seen
    assert sorted(site.server.workers()) == workers, "the workers were not restarted"
    assert not [p for p in site.releases.iterdir() if p.name.startswith(".build-")]


def _served_id(site: Site) -> str:
    status, release, _body = site.fetch(f"/doc/pledge/{site.slug}.ttl")
    assert status == 200
    return release


def test_a_bad_record_publishes_nothing(site: Site) -> None:
    before = site.current()
    entries = sorted(p.name for p in site.releases.iterdir())
    bad = copy_data(site.work / "bad-data")
    (bad / "pledges" / f"{site.slug}.yaml").write_text("id: [unclosed\ntitle: x\n")
    other = sorted((bad / "pledges").glob("*.yaml"))[1]
    other.write_text(other.read_text(encoding="utf-8") + "goals: [99x]\n", encoding="utf-8")
    result = build_release(bad, site.releases, BASE)
    assert result.returncode == 1
    assert "nothing was published" in result.stderr
    assert f"{site.slug}.yaml" in result.stderr and "not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr
    assert site.current() == before
    assert sorted(p.name for p in site.releases.iterdir()) == entries
    assert _served_id(site) == before
    manifest_intact(site.releases / before)


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def synth(site: Site) -> Path:
    """2,000 synthetic pledges: a build that takes a while and needs tens of MB."""
    folder = site.work / "synth"
    made = run_cli("synth", "--pledges", "2000", "--out", str(folder))
    assert made.returncode == 0, made.stderr
    return folder


def test_a_killed_build_leaves_the_served_release_and_the_next_build_works(
    site: Site, synth: Path
) -> None:
    before = site.current()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pledge_lod", "build", "--quiet", "--data", str(synth),
         "--releases", str(site.releases), "--base", BASE, "--jobs", "1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip

    def halfway() -> bool:
        assert proc.poll() is None, "the build finished before it could be killed"
        return any((w / "release" / "dumps").exists() for w in site.releases.glob(".build-*"))

    try:
        _wait_for(halfway, 120, "the build to write its dumps")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    leftovers = list(site.releases.glob(".build-*"))
    assert leftovers, "the killed build had a temporary folder"
    assert site.current() == before
    manifest_intact(site.releases / before)
    assert _served_id(site) == before

    # The next build works despite the leftovers, and the server follows it.
    site.set_title(TITLE_C)
    result = build_release(site.data, site.releases, BASE)
    assert result.returncode == 0, result.stderr
    after = site.current()
    assert after != before
    # ... and removed the killed build's folder: its lock died with the build.
    assert not [p for p in leftovers if p.exists()]
    assert not list(site.releases.glob(".build-*"))
    time.sleep(RECHECK_S + 0.5)
    status, release, body = site.fetch(f"/doc/pledge/{site.slug}.ttl")
    assert (status, release) == (200, after) and TITLE_C in body

    # Rollback: point ``current`` back at the previous release; the server follows.
    layout.switch_current(site.releases, before)
    time.sleep(RECHECK_S + 0.5)
    status, release, body = site.fetch(f"/doc/pledge/{site.slug}.ttl")
    assert (status, release) == (200, before) and TITLE_C not in body
    layout.switch_current(site.releases, after)
    time.sleep(RECHECK_S + 0.5)
    assert all(_served_id(site) == after for _ in range(6))


def test_a_current_link_to_a_damaged_release_keeps_serving(site: Site) -> None:
    """A release switched in by hand that cannot be read is not served: each worker keeps
    the release it last opened (a worker that saw no request since an earlier switch may
    still hold an earlier release), and nothing fails. The server would refuse to start
    on it (tests/test_ops_crash.py)."""
    before = site.current()
    good = {p.name for p in site.releases.iterdir() if (p / "manifest.json").is_file()}
    broken = site.releases / "0000000000000000"
    broken.mkdir()
    (broken / "manifest.json").write_text("{", encoding="utf-8")
    try:
        layout.switch_current(site.releases, broken.name)
        time.sleep(RECHECK_S + 0.5)
        served = {_served_id(site) for _ in range(12)}
        assert served <= good, served
    finally:
        layout.switch_current(site.releases, before)
        shutil.rmtree(broken)
    time.sleep(RECHECK_S + 0.5)
    assert {_served_id(site) for _ in range(12)} == {before}


@contextlib.contextmanager
def small_disk(folder: Path, megabytes: int) -> Iterator[str]:
    """A folder on a tmpfs of ``megabytes`` (needs root); yields how the disk is full:
    "tmpfs", or "rlimit" where mounting is not allowed (then each build process may write
    no file larger than that: RLIMIT_FSIZE, the same failure of a write halfway)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0755", "tmpfs", str(folder)],
        capture_output=True, text=True, check=False,
    ).returncode == 0 if shutil.which("mount") else False  # fmt: skip
    try:
        yield "tmpfs" if mounted else "rlimit"
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def _limit_file_size(megabytes: int):
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write(), not a signal
        size = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def test_a_full_disk_fails_the_build_and_keeps_the_release(site: Site, synth: Path) -> None:
    current = layout.read_current(site.releases)
    with small_disk(site.work / "full", 20) as how:
        releases = site.work / "full" / "releases"
        releases.mkdir()
        shutil.copytree(current.path, releases / current.id, symlinks=True)
        (releases / "current").symlink_to(current.id)
        args = [sys.executable, "-m", "pledge_lod", "build", "--quiet", "--data", str(synth),
                "--releases", str(releases), "--base", BASE, "--jobs", "1"]
        result = subprocess.run(
            args, cwd=ROOT, capture_output=True, text=True, timeout=300,
            preexec_fn=_limit_file_size(2) if how == "rlimit" else None,
        )  # fmt: skip
        print(f"\nfull disk ({how}): exit {result.returncode}; "
              f"last line: {result.stderr.strip().splitlines()[-1:]}")
        assert result.returncode != 0
        assert "Traceback" not in result.stderr, result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("pledge-lod: ")
        assert layout.read_current(releases).id == current.id
        manifest_intact(releases / current.id)
        assert not list(releases.glob(".build-*")), "the failed build cleaned up after itself"
        client = client_for(releases)
        resp = client.get(f"/doc/pledge/{site.slug}.ttl")
        assert resp.status_code == 200 and resp.headers["ETag"].strip('"').startswith(current.id)

        # Once there is room again, the next build works: here a small dataset, after
        # deleting the build cache (which docs-operations.md says is safe).
        if how == "tmpfs":
            shutil.rmtree(releases / ".cache", ignore_errors=True)
            small = build_release(site.data, releases, BASE)
            assert small.returncode == 0, small.stderr
