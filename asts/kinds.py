"""Strategy types and analysts as loaded, and the registry that holds them by name.

Every type carries its code version (a hash of the source of the module that defines it) and
that source, so a strategy started on one version can run on it again after its file has
changed (:meth:`Registry.pinned`).
"""

from __future__ import annotations

import hashlib
import inspect
import re
import sys
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from asts.analyst import AnalysisContext, Report
from asts.strategy import Strategy
from trading.errors import DomainError, UnknownStrategyType

Source = Literal["built-in", "file", "package"]
NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


class StrategyLoadError(DomainError):
    """A strategy that cannot be accepted: where it is and why."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        self.file, self.line, self.reason = file, line, reason
        super().__init__(f"{file}:{line}: {reason}" if line else f"{file}: {reason}")


def code_version(source: str) -> str:
    """The version of a strategy's code: a hash of its module's source."""
    return "sha256:" + hashlib.sha256(source.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StrategyType:
    """One loaded strategy type."""

    name: str
    cls: type[Strategy]
    source: Source
    origin: str  # the file, or "<distribution>: <entry point>" for a package
    line: int
    version: str
    code: str = field(repr=False)

    @property
    def description(self) -> str:
        """The one-line description."""
        return self.cls.summary()

    def params_schema(self) -> dict[str, Any]:
        """The JSON Schema of its parameters."""
        return self.cls.params_model.model_json_schema()

    def parse_params(self, raw: Any) -> BaseModel:
        """Validate raw parameters (``InvalidInput`` names the field)."""
        return self.cls.parse_params(raw)

    def size_of(self, raw: Mapping[str, Any], *, named_only: bool = False) -> Decimal | None:
        """The fixed size (``size``) these parameters give, None when the type has none (or, with
        ``named_only``, when the raw parameters do not name one)."""
        if named_only and "size" not in raw:
            return None
        size = getattr(self.parse_params(raw), "size", None)
        return size if isinstance(size, Decimal) else None


@dataclass(frozen=True)
class AnalystType:
    """One loaded custom analyst."""

    name: str
    fn: Any = field(repr=False)
    source: Source
    origin: str
    line: int
    version: str
    description: str = ""

    def run(self, ctx: AnalysisContext) -> Report:
        """Its report on ``ctx`` (a mapping is read as a report; anything else is its error)."""
        out = self.fn(ctx)
        if isinstance(out, Report):
            return out
        if isinstance(out, dict):
            return Report.model_validate(out)
        raise TypeError(f"analyst {self.name!r} returned {type(out).__name__}, not an asts.Report")


def _exec_module(name: str, source: str, file: str) -> types.ModuleType:
    """Run ``source`` as module ``name`` (registered, so pydantic resolves its annotations)."""
    module = types.ModuleType(name)
    module.__file__ = file
    sys.modules[name] = module
    try:
        # The operator's own strategy code: from their strategy directories, or recorded from them.
        exec(compile(source, file, "exec"), module.__dict__)  # noqa: S102  # nosec B102
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _strategies_in(module: types.ModuleType) -> list[type[Strategy]]:
    found = []
    for obj in vars(module).values():
        if inspect.isclass(obj) and issubclass(obj, Strategy) and obj is not Strategy:
            if obj.__module__ == module.__name__ and "name" in vars(obj):
                found.append(obj)
    return found


class Registry:
    """The strategy types of a process, by name, and the pinned versions it has run."""

    def __init__(self, kinds: Iterable[StrategyType] = (), analysts: Iterable[AnalystType] = ()) -> None:
        self.types: dict[str, StrategyType] = {}
        self.analysts: dict[str, AnalystType] = {}
        self._pinned: dict[tuple[str, str], StrategyType] = {}
        for t in kinds:
            self.add(t)
        for a in analysts:
            self.add_analyst(a)

    def add_analyst(self, a: AnalystType) -> None:
        """Register an analyst; a second one of the same name is refused, naming both places."""
        other = self.analysts.get(a.name)
        if other is not None:
            raise StrategyLoadError(
                a.origin,
                a.line,
                f"duplicate analyst name {a.name!r}: also defined at {other.origin}:{other.line}",
            )
        self.analysts[a.name] = a

    def analyst(self, name: str) -> AnalystType:
        """The analyst of this name, or ``UnknownStrategyType`` naming the known ones."""
        try:
            return self.analysts[name]
        except KeyError:
            known = ", ".join(sorted(self.analysts)) or "none loaded"
            raise UnknownStrategyType(f"unknown analyst {name!r}; known analysts: {known}") from None

    def add(self, t: StrategyType) -> None:
        """Register a type; a second one of the same name is refused, naming both places."""
        other = self.types.get(t.name)
        if other is not None:
            raise StrategyLoadError(
                t.origin,
                t.line,
                f"duplicate strategy name {t.name!r}: also defined at {other.origin}:{other.line}",
            )
        self.types[t.name] = t

    def get(self, name: str) -> StrategyType:
        """The type of this name, or ``UnknownStrategyType`` naming the known ones."""
        try:
            return self.types[name]
        except KeyError:
            known = ", ".join(sorted(self.types))
            raise UnknownStrategyType(f"unknown strategy type {name!r}; known types: {known}") from None

    def pinned(self, name: str, version: str, code: str | None) -> StrategyType:
        """The type as it was at ``version``: the loaded one when it is that version, else built
        from ``code`` (the source recorded when the strategy started), once per process."""
        current = self.get(name)
        if not version or version == current.version:
            return current
        key = (name, version)
        if key not in self._pinned:
            if code is None or code_version(code) != version:
                raise UnknownStrategyType(
                    f"strategy type {name!r} is at version {current.version}; the code of version {version} "
                    "is not recorded, so it cannot be run (restart or upgrade the strategy)"
                )
            origin = f"{current.origin}@{version}"
            module = _exec_module(f"asts_pinned.{name}_{version[7:]}", code, origin)
            found = [c for c in _strategies_in(module) if c.name == name]
            if not found:
                raise UnknownStrategyType(
                    f"the code of {name!r} at version {version} defines no strategy {name!r}"
                )
            self._pinned[key] = StrategyType(name, found[0], current.source, origin, 0, version, code)
        return self._pinned[key]
