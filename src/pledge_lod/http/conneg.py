"""Formats and content negotiation.

Accept headers are parsed by Werkzeug (q-values, wildcards, specificity). One thing is
adjusted before matching: media-type parameters other than q are dropped, because
Werkzeug only matches an offer when the parameters are equal, and a client asking for
``text/turtle;charset=utf-8`` or ``application/ld+json;profile=...compacted`` must get
Turtle or (compacted) JSON-LD, which is what we serve. A missing Accept header means
"anything" (RFC 9110 section 12.5.1): the first format offered, HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_options_header


@dataclass(frozen=True)
class Format:
    """One representation we can produce."""

    name: str
    ext: str
    media_type: str
    label: str
    #: Other media types a client may ask for that this format satisfies.
    aliases: tuple[str, ...] = field(default=())
    #: Whether to add ``; charset=utf-8`` to the Content-Type.
    charset: bool = True

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8" if self.charset else self.media_type


HTML = Format("html", "html", "text/html", "HTML", ("application/xhtml+xml",))
# Turtle is valid N3, and N-Triples was served as text/plain before it had a type of its
# own: old clients (rdflib's format="n3"/"nt") still ask for those.
TURTLE = Format("turtle", "ttl", "text/turtle", "Turtle", ("application/x-turtle", "text/n3"))
JSONLD = Format(
    "jsonld", "jsonld", "application/ld+json", "JSON-LD", ("application/json",), charset=False
)
NTRIPLES = Format("ntriples", "nt", "application/n-triples", "N-Triples", ("text/plain",))
RDFXML = Format("rdfxml", "rdf", "application/rdf+xml", "RDF/XML")
ATOM = Format("atom", "atom", "application/atom+xml", "Atom feed")
TEXT = Format("text", "txt", "text/plain", "Plain text")

#: What a resource document offers, in order of preference for ``*/*``.
RDF_FORMATS: tuple[Format, ...] = (TURTLE, JSONLD, NTRIPLES, RDFXML)
DOC_FORMATS: tuple[Format, ...] = (HTML, *RDF_FORMATS)
LISTING_FORMATS: tuple[Format, ...] = (*DOC_FORMATS, ATOM)
#: What an error body can be written in.
ERROR_FORMATS: tuple[Format, ...] = (*DOC_FORMATS, TEXT)

BY_EXT: dict[str, Format] = {f.ext: f for f in (*LISTING_FORMATS, TEXT)}


def normalise(accept: MIMEAccept) -> MIMEAccept:
    """The Accept header without media-type parameters (q is kept by Werkzeug)."""
    return MIMEAccept([(parse_options_header(value)[0].lower(), q) for value, q in accept])


def negotiate(accept: MIMEAccept, offered: Sequence[Format]) -> Format | None:
    """The best of ``offered`` for this Accept header, or None (answer 406)."""
    wanted = normalise(accept)
    if not wanted:
        return offered[0]
    by_type: dict[str, Format] = {}
    for fmt in offered:
        by_type.setdefault(fmt.media_type, fmt)
    for fmt in offered:
        for alias in fmt.aliases:
            by_type.setdefault(alias, fmt)
    best = wanted.best_match(list(by_type))
    return by_type[best] if best else None


def split_ext(name: str, offered: Sequence[Format]) -> tuple[str, Format | None]:
    """``"terrassa.ttl"`` -> ``("terrassa", TURTLE)``; an unknown suffix stays in the name
    (so SDG target codes such as ``10.7`` are not mistaken for extensions)."""
    stem, dot, ext = name.rpartition(".")
    if dot:
        for fmt in offered:
            if fmt.ext == ext:
                return stem, fmt
    return name, None
