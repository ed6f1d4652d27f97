"""Building a release: the pipeline, its workers, cache, store loading, dumps, VoID.

``build`` writes a new release and makes it current; ``check`` runs everything a build
checks and writes nothing. Both take :class:`BuildInputs`, the part of the settings a
build uses.
"""

from .child import BackgroundError
from .pipeline import BuildInputs, BuildResult, check
from .progress import stderr_progress
from .run import build

__all__ = ["BackgroundError", "BuildInputs", "BuildResult", "build", "check", "stderr_progress"]
