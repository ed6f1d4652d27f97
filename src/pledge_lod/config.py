"""All configuration in one place.

Every setting has a default that works out of the box on the bundled data. A setting is
overridden, in increasing precedence, by an environment variable ``PLEDGE_LOD_<NAME>``
and by the command line. Nothing else in the package reads the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "PLEDGE_LOD_"


def _project_root() -> Path:
    """The checkout root when running from source; otherwise the working directory."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "data").is_dir():
            return parent
    return Path.cwd()


ROOT = _project_root()


@dataclass(frozen=True)
class Settings:
    """Settings of the build and the server. Paths are resolved against the project root."""

    #: The base of every minted IRI; the server maps request paths onto it.
    base: str = "http://127.0.0.1:8080"
    #: Curated YAML records.
    data_dir: Path = field(default_factory=lambda: ROOT / "data")
    ontology_dir: Path = field(default_factory=lambda: ROOT / "ontology")
    shapes_dir: Path = field(default_factory=lambda: ROOT / "shapes")
    #: Where releases are written; ``current`` inside it points at the one served.
    releases_dir: Path = field(default_factory=lambda: ROOT / "releases")

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    threads: int = 8

    #: Which store the server reads: "oxigraph" (the release's embedded store) or "remote".
    backend: str = "oxigraph"
    remote_query_url: str = ""
    remote_update_url: str = ""
    remote_gsp_url: str = ""
    remote_user: str = ""
    remote_password: str = ""
    remote_timeout_s: float = 10.0

    #: SPARQL limits, stated in the service description.
    query_timeout_s: float = 10.0
    max_query_bytes: int = 64 * 1024
    max_result_bytes: int = 32 * 1024 * 1024
    max_concurrent_queries: int = 2
    max_queries_per_client: int = 2
    query_queue_wait_s: float = 2.0
    query_memory_mb: int = 2048  # per query worker process (RLIMIT_DATA); 0: unbounded

    #: HTTP limits.
    max_request_bytes: int = 256 * 1024
    max_url_bytes: int = 8 * 1024
    #: Seconds a client has to send its whole request; a slower one gets 408 (gunicorn).
    request_read_timeout_s: float = 20.0
    #: Trusted reverse proxies in front of the server (nginx: 1). Their X-Forwarded-For
    #: gives the client's address; 0 (no proxy): the peer's address, headers ignored.
    proxy_hops: int = 0
    page_size: int = 50
    #: Hits on a page of search results. Not the listings' page size: each hit costs
    #: a stored-document read, a snippet and its markup (at 1M pledges a page of 20
    #: took 15% less time than one of 50, bench/RESULTS.md); 20 is also what Skosmos
    #: (``searchResultsSize``) and MediaWiki's search page show.
    search_page_size: int = 20
    backlink_limit: int = 50
    #: Per worker: bytes of complete answers (documents, listings, redirects) replayed
    #: without running Flask (web/caches/responses.py); 0 turns the layer off.
    response_cache_bytes: int = 64 * 1024 * 1024

    #: Mapping and validation processes of a build; 0: one per CPU.
    validation_jobs: int = 0
    #: Releases a build keeps (for rollback and time travel), the current one among
    #: them; and besides, every release made in the last ``keep_days`` days (0: none).
    #: The history of versions and their changesets is never pruned.
    keep_releases: int = 3
    keep_days: float = 0.0

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with the given non-None values, coerced to each field's type."""
        known = {f.name: f for f in fields(self)}
        clean: dict[str, Any] = {}
        for name, value in values.items():
            if value is None or name not in known:
                continue
            clean[name] = _coerce(name, type(getattr(self, name)), value)
        return replace(self, **clean)


def _coerce(name: str, kind: type, value: Any) -> Any:
    if isinstance(value, kind):
        return value
    try:
        if kind is bool:
            return str(value).strip().lower() in {"1", "true", "yes", "on"}
        if issubclass(kind, Path):
            return Path(value)
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"setting {name}: {value!r} is not a valid {kind.__name__}") from exc


def from_environment(environ: dict[str, str] | None = None) -> Settings:
    """Defaults overridden by ``PLEDGE_LOD_*`` environment variables."""
    env = os.environ if environ is None else environ
    values = {
        f.name: env[ENV_PREFIX + f.name.upper()]
        for f in fields(Settings)
        if ENV_PREFIX + f.name.upper() in env
    }
    settings = Settings().with_overrides(**values)
    return settings
