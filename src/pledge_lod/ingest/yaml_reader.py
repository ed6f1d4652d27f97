"""Read YAML files safely, and the common case fast.

The loader is PyYAML's safe loader (the C one where PyYAML has libyaml) with two
changes: scalars that look like dates stay text (so that ``2023-02-30`` is reported, not
a crash), and a key given twice is an error (PyYAML would silently keep the last one).

PyYAML's constructors are written in Python and take about 80 % of the time of a load;
at a million pledges that is minutes of the build. The curated files use a plain subset
of YAML - mappings, sequences and scalars, without tags, anchors or merge keys - so
:func:`_load_plain` builds the documents straight from the C parser's events, resolving
each scalar with the loader's own resolver table and constructing it with the loader's
own constructor, about three times faster. Anything outside that subset (a tag, an
anchor, a merge key, a duplicate or complex key, a syntax error) makes it give up, and
the file is read again by the full loader, so the result - or the error and its
position - is always the full loader's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import ScalarNode

try:  # the C loader is several times faster on large data
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

MAX_FILE_BYTES = 8 * 1024 * 1024


class YamlError(Exception):
    """A file that is not readable YAML; the message says where."""


class SafeLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader: no timestamps (kept as text), duplicate keys are an error."""


def _no_timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    # Compare the key nodes' text before constructing anything: cheap, and enough for
    # the plain keys YAML records use. A complex key (a list or mapping) is refused.
    seen: set[tuple[str, str]] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value", key_node.start_mark
            )
        key = (key_node.tag, key_node.value)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _no_timestamp)
SafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def read_yaml(path: Path, name: str | None = None) -> list[Any]:
    """All documents of a YAML file (but empty ones), read safely. Raises
    :class:`YamlError`, whose message starts with ``name`` (default: the path)."""
    name = name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise YamlError(f"{name}: file is {size} bytes; the limit is {MAX_FILE_BYTES}")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise YamlError(f"{name}: cannot read: {exc.strerror}") from exc
    return load_yaml(text, name)


def load_yaml(text: str, name: str) -> list[Any]:
    """All documents of YAML ``text`` (but empty ones). Raises :class:`YamlError`."""
    try:
        docs = _load_plain(text)
    except _NotPlain:
        docs = None
    try:
        if docs is None:
            docs = list(yaml.load_all(text, Loader=SafeLoader))
        return [doc for doc in docs if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlError(f"{name}{where}: not valid YAML: {problem}") from exc
    except RecursionError as exc:
        raise YamlError(f"{name}: YAML nests too deeply") from exc
    except (ValueError, OverflowError) as exc:  # e.g. an integer of more than 4300 digits
        raise YamlError(f"{name}: not valid YAML: {str(exc)[:200]}") from exc


class _NotPlain(Exception):
    """The text leaves the plain subset (or is not valid YAML): use the full loader."""


# Nesting deeper than this is left to the full loader (and its RecursionError).
_MAX_DEPTH = 50
_CONSTRUCTORS = SafeLoader.yaml_constructors
# The loader's implicit resolvers by a scalar's first character ("" for an empty one),
# the wildcard ones (none in the safe loader) after them: BaseResolver.resolve's order.
_WILDCARD = tuple(SafeLoader.yaml_implicit_resolvers.get(None, ()))
_RESOLVERS = {
    first: tuple(resolvers) + _WILDCARD
    for first, resolvers in SafeLoader.yaml_implicit_resolvers.items()
    if first is not None
}


def _load_plain(text: str) -> list[Any]:
    """The documents of ``text``, built from the parser's events; raises
    :class:`_NotPlain` for anything but untagged, unanchored mappings, sequences and
    scalars with distinct plain keys."""
    loader = SafeLoader(text)
    try:
        return _build(loader)
    except (yaml.YAMLError, _NotPlain, ValueError, OverflowError, KeyError) as exc:
        raise _NotPlain from exc
    finally:
        loader.dispose()


def _build(loader: Any) -> list[Any]:
    docs: list[Any] = []
    # The open collections, innermost last: [list] for a sequence, [dict, key] for a
    # mapping, where key is _NO_KEY while a key is expected.
    stack: list[list[Any]] = []
    get_event = loader.get_event
    while True:
        event = get_event()
        kind = type(event)
        if kind is ScalarEvent:
            if event.anchor is not None or (event.tag is not None and event.tag != "!"):
                raise _NotPlain
            text = event.value
            value: Any = text
            if event.implicit[0]:  # plain: resolved as the composer does
                for tag, regexp in _RESOLVERS.get(text[:1], _WILDCARD):
                    if regexp.match(text):
                        # No constructor for a merge key (<<) or "=": a KeyError, and
                        # the full loader reads the file.
                        value = _CONSTRUCTORS[tag](loader, ScalarNode(tag, text))
                        break
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            value = stack.pop()[0]
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or (event.tag is not None and event.tag != "!"):
                raise _NotPlain
            if stack and len(stack[-1]) == 2 and stack[-1][1] is _NO_KEY:
                raise _NotPlain  # a complex key
            if len(stack) >= _MAX_DEPTH:
                raise _NotPlain
            stack.append([{}, _NO_KEY] if kind is MappingStartEvent else [[]])
            continue
        elif kind is StreamEndEvent:
            return docs
        elif kind is AliasEvent or kind not in _FRAMES:
            raise _NotPlain
        else:
            continue
        # A finished node: into the collection around it, or a document of its own.
        if not stack:
            docs.append(value)
            continue
        top = stack[-1]
        if len(top) == 1:
            top[0].append(value)
        elif top[1] is _NO_KEY:  # a key (a scalar: a collection as key was refused)
            # A key given twice is refused by the full loader; keys that differ in text
            # but construct equal (yes, true) are left to it too.
            if value in top[0]:
                raise _NotPlain
            top[1] = value
        else:
            top[0][top[1]] = value
            top[1] = _NO_KEY


_NO_KEY = object()
# Every document holds exactly one node (an empty one is a plain "" scalar: null).
_FRAMES = (StreamStartEvent, DocumentStartEvent, DocumentEndEvent)
