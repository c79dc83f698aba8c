"""Notification channels (``ASTS_NOTIFY``) and the delivery step's input and output.

No I/O: the workflow imports this module. A channel's secret (a webhook's signing key, a
Telegram bot's token) lives in the worker's settings only, never in a workflow's history.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from activities.bounds import Name

ChannelKind = Literal["webhook", "telegram", "slack"]

# The events a channel sends unless it names its own (fills are sent when ``fills`` is true).
DEFAULT_EVENTS = (
    "halt",
    "resume",
    "stop",
    "reduce_only",
    "kill_switch",
    "approval_requested",
    "reconcile_mismatch",
    "liquidated",
)


class NotifyChannel(BaseModel):
    """One place notifications go.

    - ``webhook``: a JSON POST to ``url``, signed with ``secret`` (header ``X-ASTS-Signature``:
      ``sha256=`` and the hex HMAC-SHA256 of ``<X-ASTS-Timestamp>.<body>``); ``X-ASTS-Delivery``
      is the event's id, the same on every retry, so a receiver can drop a repeat.
    - ``telegram``: the Bot API's ``sendMessage`` to ``chat_id``, with the bot token in
      ``secret``; ``url`` is the API's base (default ``https://api.telegram.org``).
    - ``slack``: a JSON ``{"text": ...}`` POST to an incoming-webhook ``url`` (Slack's, or any
      service that takes the same body: Mattermost, Rocket.Chat, Discord's ``/slack`` endpoint).
    """

    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: ChannelKind
    url: str = Field(default="", max_length=2000)
    secret: SecretStr | None = None
    chat_id: str = Field(default="", max_length=200)
    events: list[str] = Field(default_factory=lambda: list(DEFAULT_EVENTS), max_length=50)
    fills: bool = True

    @model_validator(mode="after")
    def _complete(self) -> NotifyChannel:
        if self.kind == "telegram":
            if self.secret is None or not self.chat_id:
                raise ValueError(f"channel {self.name!r}: telegram needs secret (the bot token) and chat_id")
        elif not self.url.startswith(("http://", "https://")):
            raise ValueError(f"channel {self.name!r}: {self.kind} needs an http(s) url")
        if self.kind == "webhook" and self.secret is None:
            raise ValueError(f"channel {self.name!r}: a webhook needs a secret to sign with")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"channel {self.name!r}: url must be http(s)")
        return self

    @property
    def base_url(self) -> str:
        """Where its requests go (Telegram's public API unless told otherwise)."""
        return (self.url or ("https://api.telegram.org" if self.kind == "telegram" else "")).rstrip("/")


class NotifyRun(BaseModel):
    """One delivery round (the channels come from the worker's settings)."""

    round: int = 0


class NotifyResult(BaseModel):
    """What one round sent, and what it could not."""

    sent: int = 0
    failed: int = 0
    pending: int = 0
    problems: list[str] = Field(default_factory=list)
