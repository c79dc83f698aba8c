"""One registry of strategy types and analysts per process: what the worker and the API load at
start (:func:`install`), or, for the CLI and tests, what ``ASTS_STRATEGY_PATHS`` names (:func:`current`).

The types live in :mod:`asts.kinds`, the loading in :mod:`asts.loader`; both are re-exported here.
"""

from __future__ import annotations

import os

from asts.kinds import AnalystType, Registry, Source, StrategyLoadError, StrategyType, code_version
from asts.loader import (
    CheckCache,
    check_type,
    default_cache_dir,
    load,
    load_file,
    load_file_all,
    parse_paths,
    strategy_files,
    validate_class,
)

__all__ = [
    "AnalystType",
    "CheckCache",
    "Registry",
    "Source",
    "StrategyLoadError",
    "StrategyType",
    "check_type",
    "code_version",
    "current",
    "default_cache_dir",
    "install",
    "load",
    "load_file",
    "load_file_all",
    "parse_paths",
    "strategy_files",
    "validate_class",
]

_current: Registry | None = None


def install(reg: Registry) -> Registry:
    """Make ``reg`` the process's registry (the worker and the API do so at start)."""
    global _current
    _current = reg
    return reg


def current() -> Registry:
    """The process's registry; loaded from ``ASTS_STRATEGY_PATHS`` on first use if none was installed."""
    if _current is None:
        return install(
            load(parse_paths(os.environ.get("ASTS_STRATEGY_PATHS")), cache_dir=default_cache_dir())
        )
    return _current
