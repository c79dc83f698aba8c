"""Loading strategy types and analysts: the built-ins, the files in ``ASTS_STRATEGY_PATHS`` and
the ``asts.strategies`` / ``asts.analysts`` entry points of installed packages.

A broken strategy stops the load with :class:`~asts.kinds.StrategyLoadError`, which names the
file, the line and the reason (import error, missing method, bad params model, duplicate name,
or a failed look-ahead/recursion check, whose verdicts are cached by code version).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import inspect
import json
import logging
import os
import traceback
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from asts.analyst import ANALYST_MARK
from asts.checks import run_checks
from asts.kinds import (
    NAME,
    AnalystType,
    Registry,
    Source,
    StrategyLoadError,
    StrategyType,
    _exec_module,
    _strategies_in,
    code_version,
)
from asts.strategy import Strategy

log = logging.getLogger(__name__)

ENTRY_POINTS = "asts.strategies"
ANALYST_ENTRY_POINTS = "asts.analysts"
# Bump when the checks change, so cached verdicts of older checks are not trusted.
CHECKS_VERSION = "1"
BUILTIN_MODULES = ("asts.builtin.sma_cross", "asts.builtin.rsi_reversion", "asts.builtin.agent")
_Found = TypeVar("_Found", StrategyType, AnalystType)


def _line_in(exc: BaseException, file: str) -> int:
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename) == Path(file):
        return exc.lineno or 0
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename and Path(frame.filename) == Path(file):
            line = frame.lineno or 0
    return line


def _analysts_in(module: types.ModuleType, source: Source, origin: str, code: str) -> list[AnalystType]:
    out = []
    for obj in vars(module).values():
        mark = getattr(obj, ANALYST_MARK, None)
        if (
            not (callable(obj) and isinstance(mark, dict))
            or getattr(obj, "__module__", None) != module.__name__
        ):
            continue
        line = _class_line(obj)
        name = mark.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise StrategyLoadError(
                origin, line, f"analyst name must be lower_snake_case of 1-50 characters, got {name!r}"
            )
        try:
            arity = len(inspect.signature(obj).parameters)
        except (TypeError, ValueError):
            arity = -1
        if arity != 1:
            raise StrategyLoadError(
                origin, line, f"analyst {name!r} must take one argument (an AnalysisContext)"
            )
        doc = (inspect.getdoc(obj) or "").strip()
        description = mark.get("description") or (doc.splitlines()[0] if doc else name)
        out.append(AnalystType(name, obj, source, origin, line, code_version(code), str(description)))
    return out


def _class_line(cls: Any) -> int:
    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return 0


def validate_class(cls: type[Strategy], file: str) -> None:
    """The shape checks: a valid name, both methods, a params model whose defaults validate."""
    line = _class_line(cls)
    name = vars(cls).get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise StrategyLoadError(
            file, line, f"{cls.__name__}.name must be lower_snake_case of 1-50 characters, got {name!r}"
        )
    peers = cls.peers
    if not isinstance(peers, tuple) or not all(isinstance(x, str) and 0 < len(x) <= 64 for x in peers):
        raise StrategyLoadError(
            file, line, f"strategy {name!r}: peers must be a tuple of symbols, got {peers!r}"
        )
    for method in ("warmup", "signal"):
        if getattr(cls, method) is getattr(Strategy, method):
            raise StrategyLoadError(file, line, f"strategy {name!r} has no {method}() method")
    model = cls.params_model
    if not (inspect.isclass(model) and issubclass(model, BaseModel)):
        raise StrategyLoadError(
            file, line, f"strategy {name!r}: params_model must be a pydantic model (asts.Params)"
        )
    try:
        defaults = model()
        model.model_json_schema()
        cls.warmup_of(defaults)
    except Exception as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise StrategyLoadError(
            file, line, f"strategy {name!r}: bad params model or warm-up: {reason}"
        ) from None


def _from_module(module: types.ModuleType, source: Source, origin: str, code: str) -> list[StrategyType]:
    out = []
    for cls in _strategies_in(module):
        validate_class(cls, origin)
        out.append(StrategyType(cls.name, cls, source, origin, _class_line(cls), code_version(code), code))
    return out


def load_file(path: Path) -> list[StrategyType]:
    """The strategies one file defines (``StrategyLoadError`` with its line when it is broken)."""
    return load_file_all(path)[0]


def load_file_all(path: Path) -> tuple[list[StrategyType], list[AnalystType]]:
    """The strategies and the analysts one file defines (at least one of either)."""
    file = str(path)
    try:
        code = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise StrategyLoadError(file, 0, f"cannot read it: {e}") from None
    name = f"asts_user.{path.stem}_{hashlib.sha256(file.encode()).hexdigest()[:8]}"
    try:
        module = _exec_module(name, code, file)
    except Exception as e:
        raise StrategyLoadError(file, _line_in(e, file), f"{type(e).__name__}: {e}") from None
    found = _from_module(module, "file", file, code)
    analysts = _analysts_in(module, "file", file, code)
    if not found and not analysts:
        raise StrategyLoadError(
            file, 0, "defines no strategy (a subclass of asts.Strategy with a name) and no @asts.analyst"
        )
    return found, analysts


def strategy_files(paths: Sequence[Path]) -> list[Path]:
    """The ``*.py`` files of each directory (or the file itself), sorted; ``_*`` and ``test_*`` skipped."""
    files: list[Path] = []
    for p in paths:
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files.extend(
                f for f in sorted(p.glob("*.py")) if not f.name.startswith(("_", "test_")) and f.is_file()
            )
        else:
            raise StrategyLoadError(str(p), 0, "no such strategy directory or file (ASTS_STRATEGY_PATHS)")
    return files


def _module_code(module: types.ModuleType) -> tuple[str, str]:
    file = inspect.getsourcefile(module) or module.__name__
    return file, inspect.getsource(module)


def _builtins() -> list[StrategyType]:
    out = []
    for name in BUILTIN_MODULES:
        module = importlib.import_module(name)
        file, code = _module_code(module)
        out.extend(_from_module(module, "built-in", file, code))
    return out


def _entry_points(group: str) -> list[tuple[str, str, Any, types.ModuleType, str, str]]:
    """Each entry point of ``group``: its name, where it comes from, what it loads, its module,
    that module's file and source."""
    out = []
    for ep in importlib.metadata.entry_points(group=group):
        where = f"{ep.dist.name if ep.dist else '?'}: {ep.value}"
        try:
            obj = ep.load()
        except Exception as e:
            raise StrategyLoadError(
                where, 0, f"cannot load entry point {ep.name!r}: {type(e).__name__}: {e}"
            ) from None
        module = obj if inspect.ismodule(obj) else inspect.getmodule(obj)
        if module is None:
            raise StrategyLoadError(where, 0, f"entry point {ep.name!r} is not a module, class or function")
        file, code = _module_code(module)
        out.append((ep.name, where, obj, module, file, code))
    return out


def _from_entry_points(
    group: str,
    find: Callable[[types.ModuleType, Source, str, str], list[_Found]],
    target: Callable[[_Found], object],
    what: str,
) -> list[_Found]:
    """What each entry point of ``group`` names: all that ``find`` finds in its module, or the one
    object it points at; an entry point naming none of them is refused."""
    out: list[_Found] = []
    for name, where, obj, module, file, code in _entry_points(group):
        found = [x for x in find(module, "package", file, code) if obj is module or target(x) is obj]
        if not found:
            raise StrategyLoadError(where, 0, f"entry point {name!r} names no {what}")
        out.extend(found)
    return out


def _package_analysts() -> list[AnalystType]:
    return _from_entry_points(ANALYST_ENTRY_POINTS, _analysts_in, lambda a: a.fn, "@asts.analyst function")


def _packages() -> list[StrategyType]:
    return _from_entry_points(ENTRY_POINTS, _from_module, lambda t: t.cls, "asts.Strategy subclass")


class CheckCache:
    """Verdicts of the look-ahead/recursion checks by code version, in a directory (or in memory)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.memory: dict[str, str] = {}

    def _file(self, key: str) -> Path | None:
        return None if self.directory is None else self.directory / f"check-{key}.json"

    def get(self, key: str) -> str | None:
        """The cached failure text ("" for a pass), or None when not checked yet."""
        if key in self.memory:
            return self.memory[key]
        f = self._file(key)
        if f is not None and f.is_file():
            try:
                return str(json.loads(f.read_text())["failure"])
            except (OSError, ValueError, KeyError):
                return None
        return None

    def put(self, key: str, failure: str) -> None:
        """Remember a verdict."""
        self.memory[key] = failure
        f = self._file(key)
        if f is not None:
            try:
                f.parent.mkdir(parents=True, exist_ok=True)
                tmp = f.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps({"failure": failure}))
                tmp.replace(f)
            except OSError as e:  # a read-only cache only costs a re-check next time
                log.warning("cannot cache a strategy check in %s: %s", f.parent, e)


def check_type(t: StrategyType, cache: CheckCache) -> None:
    """Run (or recall) the look-ahead and recursion checks of ``t`` with its default params."""
    key = f"{t.version[7:]}-{CHECKS_VERSION}"
    failure = cache.get(key)
    if failure is None:
        found = run_checks(t.cls)
        failure = "" if found is None else str(found)
        cache.put(key, failure)
    if failure:
        raise StrategyLoadError(t.origin, t.line, f"strategy {t.name!r} refused: {failure}")


def load(
    paths: Sequence[Path] = (),
    *,
    entry_points: bool = True,
    check: bool = True,
    cache_dir: Path | None = None,
) -> Registry:
    """The built-ins, then the strategies and analysts of the files under ``paths``, then those of
    the installed packages' entry points."""
    reg = Registry(_builtins())
    for f in strategy_files(paths):
        kinds, analysts = load_file_all(f)
        for t in kinds:
            reg.add(t)
        for a in analysts:
            reg.add_analyst(a)
    if entry_points:
        for t in _packages():
            reg.add(t)
        for a in _package_analysts():
            reg.add_analyst(a)
    if check:
        cache = CheckCache(cache_dir)
        for t in reg.types.values():
            check_type(t, cache)
    return reg


def parse_paths(value: str | Sequence[str] | None) -> list[Path]:
    """``ASTS_STRATEGY_PATHS``: directories (or files) separated by the OS path separator."""
    if not value:
        return []
    items = value.split(os.pathsep) if isinstance(value, str) else list(value)
    return [Path(v).expanduser() for v in items if v.strip()]


def default_cache_dir() -> Path:
    """Where check verdicts are kept: ``ASTS_CACHE_DIR`` or the user's cache directory."""
    base = os.environ.get("ASTS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or "~/.cache", "asts"
    )
    return Path(base).expanduser() / "strategy-checks"
