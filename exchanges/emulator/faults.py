"""Scripted misbehaviour of the exchange emulator: fault rules and the registry that hands them out.

A rule matches requests by HTTP method and path (``"*"`` matches any) and applies to the next
``times`` matching requests (``None``: every one), then it is used up. Rules are tried in the
order they were added; one request takes at most one rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from trading.errors import InvalidInput

ANY = "*"


class FaultAction(StrEnum):
    """What a fault rule does to a request it matches."""

    DROP_AFTER_ACCEPT = "drop_after_accept"  # process fully, then close the connection unanswered
    DELAY_AFTER_ACCEPT = "delay_after_accept"  # process, then wait ``seconds`` before answering
    DELAY_BEFORE = "delay_before"  # wait ``seconds``, then process (even if the client gave up)
    HTTP_ERROR = "http_error"  # answer ``status`` with ``body``, without processing
    RATE_LIMIT = "rate_limit"  # HTTP 429, Binance code -1003 and Retry-After, without processing
    BAN = "ban"  # HTTP 418, Binance code -1003 and Retry-After, without processing
    REJECT = "reject"  # HTTP ``status`` (400) with Binance ``code`` and ``msg``, without processing

    @property
    def processes(self) -> bool:
        """True when the request is still executed under this fault."""
        return self in _PROCESSING


_PROCESSING = frozenset(
    {FaultAction.DROP_AFTER_ACCEPT, FaultAction.DELAY_AFTER_ACCEPT, FaultAction.DELAY_BEFORE}
)
_DEFAULT_STATUS = {
    FaultAction.HTTP_ERROR: 503,
    FaultAction.RATE_LIMIT: 429,
    FaultAction.BAN: 418,
    FaultAction.REJECT: 400,
}


@dataclass(slots=True)
class FaultRule:
    """One scripted fault; ``remaining`` counts down from ``times`` (None: unlimited)."""

    action: FaultAction
    method: str = ANY
    path: str = ANY
    times: int | None = 1
    seconds: float = 0.0  # delay_* wait; rate_limit/ban: the Retry-After value (default 1)
    status: int | None = None  # http_error/reject status (defaults 503/400)
    body: str | dict[str, Any] | None = None  # http_error body: text, or an object sent as JSON
    code: int | None = None  # reject: the Binance error code, e.g. -2010
    msg: str | None = None  # reject: the Binance message
    remaining: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.action = FaultAction(self.action)
        self.method = self.method.upper() if self.method else ANY
        self.path = self.path or ANY
        if self.times is not None and self.times < 1:
            raise InvalidInput(f"a fault rule applies at least once, got times={self.times}")
        if self.seconds < 0:
            raise InvalidInput(f"fault seconds must be non-negative, got {self.seconds}")
        if self.action is FaultAction.REJECT and (self.code is None or not self.msg):
            raise InvalidInput("a reject fault needs a Binance code and msg, e.g. -2010 and its message")
        if self.status is not None and not 400 <= self.status <= 599:
            raise InvalidInput(f"fault status must be an HTTP error status, got {self.status}")
        self.remaining = self.times

    @property
    def http_status(self) -> int:
        """The HTTP status a non-processing fault answers with."""
        return self.status or _DEFAULT_STATUS.get(self.action, 500)

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule applies to a request (and is not used up)."""
        if self.remaining is not None and self.remaining <= 0:
            return False
        return self.method in (ANY, method.upper()) and self.path in (ANY, path)

    def to_json(self) -> dict[str, Any]:
        """The rule as sent and listed over HTTP."""
        out = asdict(self)
        out["action"] = self.action.value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultRule:
        """A rule from its JSON form; raises InvalidInput on unknown fields or values."""
        known = {"action", "method", "path", "times", "seconds", "status", "body", "code", "msg"}
        extra = set(data) - known - {"remaining"}
        if extra:
            raise InvalidInput(f"unknown fault rule fields: {', '.join(sorted(extra))}")
        if "action" not in data:
            raise InvalidInput(
                f"a fault rule needs an action, one of {', '.join(a.value for a in FaultAction)}"
            )
        try:
            action = FaultAction(data["action"])
        except ValueError as e:
            raise InvalidInput(
                f"unknown fault action {data['action']!r}; one of {', '.join(a.value for a in FaultAction)}"
            ) from e
        kwargs = {k: v for k, v in data.items() if k in known and k != "action"}
        try:
            return cls(action=action, **kwargs)
        except TypeError as e:
            raise InvalidInput(f"bad fault rule {dict(data)!r}: {e}") from e


class Faults:
    """The emulator's active fault rules."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []

    def add(
        self,
        action: FaultAction | str,
        *,
        method: str = ANY,
        path: str = ANY,
        times: int | None = 1,
        seconds: float = 0.0,
        status: int | None = None,
        body: str | dict[str, Any] | None = None,
        code: int | None = None,
        msg: str | None = None,
    ) -> FaultRule:
        """Add a rule (see FaultRule) and return it."""
        rule = FaultRule(FaultAction(action), method, path, times, seconds, status, body, code, msg)
        self._rules.append(rule)
        return rule

    def add_rule(self, rule: FaultRule) -> FaultRule:
        """Add a rule built elsewhere (e.g. from JSON)."""
        self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def rules(self) -> list[FaultRule]:
        """The rules not used up yet, in matching order."""
        return [r for r in self._rules if r.remaining is None or r.remaining > 0]

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first rule matching a request, with one use consumed; None when none matches."""
        for rule in self._rules:
            if rule.matches(method, path):
                if rule.remaining is not None:
                    rule.remaining -= 1
                self._rules = self.rules()
                return rule
        return None
