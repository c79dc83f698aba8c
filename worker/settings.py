"""The one place configuration is read from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process settings; every field can be set as ``ASTS_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="ASTS_", extra="ignore")

    env: Literal["development", "production"] = "development"
    home: Path = Path(".asts")
    database_url: str | None = None
    temporal_address: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_ADDRESS", "ASTS_TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = "default"
    task_queue: str = "asts"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_url: str | None = None
    paper_bars_per_second: float = 2.0
    worker_metrics_port: int | None = None
    # NeuroHub: its workflow id, global circuit breakers (JSON mapping) and the daily reset (UTC).
    hub_id: str = "neurohub"
    hub_breakers: dict[str, Any] = Field(default_factory=dict)
    hub_daily_reset_utc: str = "00:00"
    # How long the API waits for NeuroHub to take a command (a halt's gate is closed before).
    hub_accept_timeout_s: float = 30.0

    @property
    def db_url(self) -> str:
        """The application database: ``ASTS_DATABASE_URL`` or SQLite under the state directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.home / 'asts.db').resolve()}"

    @property
    def address(self) -> str:
        """The Temporal frontend to use."""
        return self.temporal_address or "127.0.0.1:7233"

    @property
    def base_url(self) -> str:
        """Where the CLI finds the API."""
        return self.api_url or f"http://{self.api_host}:{self.api_port}"
