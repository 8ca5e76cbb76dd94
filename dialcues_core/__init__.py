"""Dialcues core: schedule reminders and phone people on time, embeddable in any Python app.

Importing the package loads nothing else: ``Dialcues`` (the composition root, which names the
database and provider adapters) and ``Runtime`` (the background services of a process) are
imported on first use, so ``import dialcues_core.errors``
stays cheap and free of peewee, aiohttp and grpc.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialcues_core.bootstrap import Dialcues
    from dialcues_core.runtime import Runtime

__all__ = ["Dialcues", "Runtime", "__version__"]

try:
    __version__ = version("dialcues")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0.0.0"


def __getattr__(name: str) -> object:
    """Import the composition root and the runtime on first use (no adapter at import)."""
    if name == "Dialcues":
        from dialcues_core.bootstrap import Dialcues

        return Dialcues
    if name == "Runtime":
        from dialcues_core.runtime import Runtime

        return Runtime
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
