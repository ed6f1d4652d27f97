"""The release's sitemap: every document's URL, from the statistics counted while mapping."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from ..rdf import vocab as v
from ..release import layout
from .graph_stats import GraphStats

#: URLs in one sitemap file (the sitemaps.org limit); more make an index of files.
SITEMAP_LIMIT = 50_000


def write_sitemaps(stats: GraphStats, iris: v.Iris, folder: Path) -> list[str]:
    """sitemap.xml (an index when there are more than 50,000 documents)."""
    thing_prefix = iris.base + "/id/"
    subjects = stats.documents(thing_prefix)
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


def _urlset(urls: list[str]) -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    lines += [f"  <url><loc>{escape(u)}</loc></url>" for u in urls]
    lines.append("</urlset>\n")
    return "\n".join(lines)
