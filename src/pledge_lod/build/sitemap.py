"""The release's sitemap: every document's URL.

A full build lists the subjects it counted while mapping. A rebuild whose changes create
or delete no document has the same sitemap as the previous release: its files are
hard-linked from there (a release's files are never modified), which at a million
pledges saves writing 70 MB of XML (7 s). When documents come or go, the previous list
is read back from the previous release's sitemap and the changes applied to it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.sax.saxutils import escape, unescape

from ..rdf import vocab as v
from ..release import layout
from .changes import Changeset

#: URLs in one sitemap file (the sitemaps.org limit); more make an index of files.
SITEMAP_LIMIT = 50_000
_LOC = re.compile(r"<loc>([^<]*)</loc>")


def write_sitemaps(subjects: list[str], iris: v.Iris, folder: Path) -> list[str]:
    """sitemap.xml (an index when there are more than 50,000 documents) for the
    documents of ``subjects`` (sorted subject IRIs under ``{base}/id/``)."""
    thing_prefix = iris.base + "/id/"
    urls = [f"{iris.base}/"]
    urls += [iris.base + "/doc/" + s[len(thing_prefix) :] for s in subjects]
    parts = [urls[i : i + SITEMAP_LIMIT] for i in range(0, len(urls), SITEMAP_LIMIT)]
    names = []
    if len(parts) == 1:
        (folder / layout.SITEMAP_FILE).write_text(_urlset(parts[0]), encoding="utf-8")
        return [layout.SITEMAP_FILE]
    maps = folder / "sitemaps"
    maps.mkdir()
    for n, part in enumerate(parts, 1):
        name = f"sitemaps/sitemap-{n}.xml"
        (folder / name).write_text(_urlset(part), encoding="utf-8")
        names.append(name)
    index = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    index += [f"  <sitemap><loc>{escape(iris.base + '/' + n)}</loc></sitemap>" for n in names]
    index.append("</sitemapindex>\n")
    (folder / layout.SITEMAP_FILE).write_text("\n".join(index), encoding="utf-8")
    return [layout.SITEMAP_FILE, *names]


def sitemaps_after(
    previous: Path, changeset: Changeset, iris: v.Iris, folder: Path
) -> list[str] | None:
    """The sitemap of the previous release (folder ``previous``) with the documents the
    changeset creates or deletes; None if that release's sitemap cannot be read."""
    try:
        manifest = json.loads((previous / layout.MANIFEST).read_text(encoding="utf-8"))
        names = [str(n) for n in manifest["sitemaps"]]
        base = str(manifest["base"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if base.rstrip("/") != iris.base.rstrip("/"):
        return None
    if any(Path(n).is_absolute() or ".." in Path(n).parts for n in names):
        return None
    thing_prefix = iris.base + "/id/"
    born = {c.iri for c in changeset.changes if c.kind == "created"}
    gone = {c.iri for c in changeset.changes if c.kind == "deleted"}
    if not any(iri.startswith(thing_prefix) for iri in born | gone):
        try:
            for name in names:
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                layout.link_or_copy(previous / name, folder / name)
        except OSError:
            return None
        return names
    subjects = _documents(previous, names, iris)
    if subjects is None:
        return None
    subjects = (subjects - gone) | {iri for iri in born if iri.startswith(thing_prefix)}
    return write_sitemaps(sorted(subjects), iris, folder)


def _documents(previous: Path, names: list[str], iris: v.Iris) -> set[str] | None:
    """The subject IRIs a release's sitemap lists (its index's own entries and the home
    page left out)."""
    doc_prefix, thing_prefix = iris.base + "/doc/", iris.base + "/id/"
    subjects: set[str] = set()
    try:
        for name in names:
            text = (previous / name).read_text(encoding="utf-8")
            for loc in _LOC.findall(text):
                url = unescape(loc)
                if url.startswith(doc_prefix):
                    subjects.add(thing_prefix + url[len(doc_prefix) :])
    except OSError:
        return None
    return subjects


def _urlset(urls: list[str]) -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    lines += [f"  <url><loc>{escape(u)}</loc></url>" for u in urls]
    lines.append("</urlset>\n")
    return "\n".join(lines)
