"""Choosing a format: one negotiation for documents, listings, feeds and SPARQL answers.

Choice, in order: a format fixed by the URL (an extension such as ``.ttl``, see
:func:`split_ext`); else a recognised ``format`` parameter (short names such as ``json``
or ``ttl``, or a media type: what SPARQLWrapper sends); else the Accept header, parsed by
Werkzeug (q-values, wildcards, specificity) against the canonical media types first and
then the aliases real clients send; with no Accept header, "anything" (RFC 9110 section
12.5.1): the first format offered. Nothing acceptable raises :class:`NotAcceptable`,
carrying what is offered, so that the 406 body can list it.

One thing is adjusted before matching: media-type parameters other than q are dropped,
because Werkzeug only matches an offer when the parameters are equal, and a client
asking for ``text/turtle;charset=utf-8`` or ``application/ld+json;profile=...compacted``
must get Turtle or (compacted) JSON-LD, which is what we serve.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header, parse_options_header

from .formats import Format


class NotAcceptable(Exception):
    """None of the offered formats is acceptable; ``formats`` are what is offered and
    ``offered`` their media types."""

    def __init__(self, message: str, formats: Sequence[Format]):
        super().__init__(message)
        self.formats = tuple(formats)
        self.offered = [f.media_type for f in formats]


def negotiate(
    offered: Sequence[Format],
    accept: str | None,
    names: Sequence[str] = (),
    fixed: Format | None = None,
) -> Format:
    """The best of ``offered``: ``fixed`` (by the URL) if given, else by the ``format``
    parameter values ``names``, else by the Accept header ``accept``."""
    if fixed is not None:
        return fixed
    if names:
        return _by_names(tuple(offered), names)
    if accept is None or not accept.strip():
        return offered[0]
    return _by_accept(tuple(offered), accept)


def _by_names(offered: tuple[Format, ...], names: Sequence[str]) -> Format:
    for name in names:
        value = name.strip().lower()
        media = value.split(";", 1)[0].strip()
        for f in offered:
            if value == f.key or value in f.names or media == f.media_type:
                return f
        for f in offered:
            if media in f.aliases:
                return f
    raise NotAcceptable(
        f"format={names[0][:100]!r} is not offered for this answer; "
        f"use one of: {', '.join(f.key for f in offered)}",
        offered,
    )


@lru_cache(maxsize=256)
def _by_accept(offered: tuple[Format, ...], accept: str) -> Format:
    """The best format for one Accept value. Cached: clients send the same few values
    again and again, and parsing one was the largest piece of the endpoint's own Python
    work for a point query (a refusal raises, so it is never cached)."""
    parsed = parse_accept_header(accept, MIMEAccept)
    wanted = MIMEAccept([(parse_options_header(value)[0].lower(), q) for value, q in parsed])
    if not wanted:  # nothing parseable in it: as if there were no Accept header
        return offered[0]
    by_type: dict[str, Format] = {}
    for fmt in offered:  # canonical media types win over aliases at equal quality
        by_type.setdefault(fmt.media_type, fmt)
    for fmt in offered:
        for alias in fmt.aliases:
            by_type.setdefault(alias, fmt)
    best = wanted.best_match(list(by_type))
    if best is None:
        raise NotAcceptable(
            f"none of the media types in Accept ({accept[:200]}) is offered for this answer",
            offered,
        )
    return by_type[best]


def split_ext(name: str, offered: Sequence[Format]) -> tuple[str, Format | None]:
    """``"terrassa.ttl"`` -> ``("terrassa", TURTLE)``; an unknown suffix stays in the name
    (so SDG target codes such as ``10.7`` are not mistaken for extensions)."""
    stem, dot, ext = name.rpartition(".")
    if dot:
        for fmt in offered:
            if fmt.extension == ext:
                return stem, fmt
    return name, None
