"""Writing pledge records as YAML, the way stewards write them, and never half a file.

The counterpart of :mod:`.yaml_reader` for the importer's output: PyYAML's safe dumper,
keys in the record's own order, summaries as ``|`` block literals, titles on one line;
each file written through a temporary file and ``os.replace``, so that an interrupted
run leaves the old file or the new one, never a torn mixture.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml


class _Literal(str):
    """A string written as a YAML block literal (``|``), the way stewards write summaries."""


class _Dumper(yaml.SafeDumper):
    """A safe dumper: block mappings and lists (as in the curated files), multi-line text
    as ``|`` literals. A subclass so that PyYAML's global SafeDumper is left alone."""


def _represent_literal(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        return _represent_literal(dumper, value)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(_Literal, _represent_literal)
_Dumper.add_representer(str, _represent_str)


def dump_record(data: dict[str, Any]) -> str:
    """The YAML text of one record, keys in the mapping's own order, titles on one line."""
    out = {
        key: _Literal(value) if key == "summary" and isinstance(value, str) and value else value
        for key, value in data.items()
    }
    return yaml.dump(
        out,
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=1_000_000,
    )


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder and ``os.replace`` it, so that
    the file is either the old or the new one, never a torn mixture.

    Hand-written (a dozen lines of the standard library): ``atomicwrites``, the package
    that did this, is archived by its author and no longer maintained."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
