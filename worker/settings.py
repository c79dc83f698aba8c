"""The one place configuration is read from the environment."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from activities.notify_contracts import NotifyChannel
from agents.llm import LlmConfig, Price
from exchanges.ccxt_exchange import VenueConfig
from exchanges.paper_margin import PaperMargin

# The bundled sample feeds (data/news/), ingested when ASTS_NEWS_FEEDS is not set.
SAMPLE_FEEDS: tuple[dict[str, Any], ...] = (
    {"name": "sample-rss", "path": "data/news/sample.xml"},
    {"name": "sample-json", "path": "data/news/sample.json"},
)


if TYPE_CHECKING:
    from asts.registry import Registry


class Settings(BaseSettings):
    """Process settings; every field can be set as ``ASTS_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="ASTS_", extra="ignore")

    # development: key files, the JWT secret and the admin password are generated when unset, and
    # the embedded Web UI decodes from loopback without a token; production: they must be given.
    env: Literal["development", "production"] = "development"
    # The state directory: temporal.db, asts.db, paper-exchange.db, the key files and logs/.
    home: Path = Path(".asts")
    # The application database (postgresql+asyncpg://... or sqlite+aiosqlite:///...; unset: SQLite
    # at <home>/asts.db). A secret, as it carries the password: masked in repr, read via ``db_url``.
    database_url: SecretStr | None = None
    # The Temporal frontend, host:port; unset: 127.0.0.1:7233, where `asts up` starts the dev server.
    temporal_address: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_ADDRESS", "ASTS_TEMPORAL_ADDRESS")
    )
    # The Temporal namespace every workflow runs in.
    temporal_namespace: str = "default"
    # The task queue of strategies, cycles and orders; NeuroHub polls <task_queue>-control and
    # OptiCore <task_queue>-backtest. Every worker of one installation uses the same.
    task_queue: str = "asts"
    # Payload encryption (worker/codec.py). Keys as JSON {"<key id>": "<base64 of 32 bytes>", ...}
    # and the id that encrypts (older ids still decrypt); unset, the key file ``codec_key_file``
    # (default <home>/codec-keys.json, 0600), generated on first use in development only.
    codec_keys: dict[str, SecretStr] = Field(default_factory=dict)
    codec_key_id: str | None = None
    codec_key_file: Path | None = None
    # The Web UI origins allowed to call the API's /codec (CORS); empty: the embedded UI on ui_port.
    codec_origins: list[str] = Field(default_factory=list)
    # The embedded Temporal Web UI's port (`asts up`).
    ui_port: int = 8233
    # Where a browser reaches the Temporal Web UI (the console links workflows there); unset: the
    # embedded UI on ui_port in development, none in production.
    temporal_ui_url: str | None = None
    # The console's built files (default: console/dist of the checkout).
    console_dir: Path | None = None
    # The change feed (GET /stream): streams one API process serves at once, how often a stream
    # checks that its token is still valid, and how often the store is read for changes.
    max_streams: int = Field(default=200, ge=0)
    stream_recheck_s: float = Field(default=60.0, gt=0)
    stream_interval_s: float = Field(default=0.5, gt=0)
    # How long an API process keeps what a bearer token was found to be (0: check the store on
    # every request; a sign-out or revocation through another API process applies within it),
    # and NeuroHub's status (one workflow query serves every request in that time).
    auth_cache_s: float = Field(default=1.0, ge=0, le=10)
    hub_status_cache_s: float = Field(default=0.5, ge=0, le=10)
    # List answers (orders, fills, positions, decisions, pnl, events, strategies) kept for the same
    # path and query: at most this old; dropped by any mutation through the process and by
    # every change the change feed sees (0: every request reads the store).
    read_cache_s: float = Field(default=0.25, ge=0, le=10)
    # Temporal transport: TLS with the system roots (temporal_tls), or with a private CA and/or a
    # client certificate (mTLS; PEM file paths); the API key (Temporal Cloud) turns TLS on too.
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: SecretStr | None = None
    # Where `asts api` listens, and where the CLI finds the API (default http://<api_host>:<api_port>).
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_url: str | None = None
    # The paper venue's replay speed in bars per second (fixed when its state file is created).
    paper_bars_per_second: float = 2.0
    # The paper venue as a margin account that may hold shorts (ASTS_PAPER_MARGIN as JSON, e.g.
    # {"borrow_rate": "0.05", "initial": "0.5", "maintenance": "0.1"}; unset: a spot account).
    paper_margin: PaperMargin | None = None
    # ccxt venues by the name strategies use, as JSON: {"binance": {"ccxt_id": "binance",
    # "testnet": true}}; see exchanges.ccxt_exchange.VenueConfig. Keys are never set here: they
    # come from ASTS_EXCHANGE_<NAME>_API_KEY / _SECRET or ASTS_EXCHANGE_SECRETS_FILE.
    exchanges: dict[str, VenueConfig] = Field(default_factory=dict)
    # The worker's Prometheus endpoint of ASTS's metrics (orders, fills, cycles, gates, breakers,
    # venues, LLM spend); unset: none.
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # The worker's Prometheus endpoint of the Temporal SDK's metrics (workflow and activity task
    # latencies, failures, slots, polls); unset: none.
    worker_sdk_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # The address both metrics endpoints listen on: 0.0.0.0 in a container, for Prometheus on the
    # network (they answer without authentication: never publish them).
    worker_metrics_host: str = "127.0.0.1"
    # NeuroHub: its workflow id, global circuit breakers (JSON mapping) and the daily reset (UTC).
    hub_id: str = "neurohub"
    hub_breakers: dict[str, Any] = Field(default_factory=dict)
    hub_daily_reset_utc: str = "00:00"
    # How long the API waits for NeuroHub to take a command (a halt's gate is closed before).
    hub_accept_timeout_s: float = 30.0
    # DataSpider: the feeds ingested every ``news_interval_s`` (ASTS_NEWS_FEEDS as a JSON list of
    # {"name", "url" | "path", "format", "aliases"}; relative paths are read from the checkout).
    news_feeds: list[dict[str, Any]] = Field(default_factory=lambda: [dict(f) for f in SAMPLE_FEEDS])
    news_interval_s: float = Field(default=300.0, gt=0)
    # Market data: the series kept up to date in the store every ``market_data_interval_s``
    # (ASTS_MARKET_DATA as a JSON list of {"exchange", "symbol", "timeframe", "since"}; empty: no
    # schedule, and an existing one is deleted).
    market_data: list[dict[str, Any]] = Field(default_factory=list)
    market_data_interval_s: float = Field(default=3600.0, gt=0)

    # The language model of the agents: any OpenAI-compatible endpoint (unset: no LLM; the
    # analysts decide alone). The key comes from ASTS_LLM_API_KEY (or OPENAI_API_KEY).
    llm_base_url: str | None = None
    # The model name sent to the endpoint (required with llm_base_url).
    llm_model: str = ""
    # The endpoint's key.
    llm_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ASTS_LLM_API_KEY", "OPENAI_API_KEY")
    )
    # How long one model request may take, how a structured answer is asked for (a JSON schema, a
    # JSON object or a tool call), the longest answer in tokens and the sampling temperature.
    llm_timeout_s: float = 30.0
    llm_structured: Literal["json_schema", "json_object", "tools"] = "json_schema"
    llm_max_tokens: int = 400
    llm_temperature: float = 0.0
    # Model name (or "*") -> {"input": price per million tokens, "output": ...}, as JSON.
    llm_prices: dict[str, dict[str, Decimal]] = Field(default_factory=dict)
    # `asts up --llm local` / `asts llm serve`: the local model's port (0: any free port).
    llm_local_port: int = 8081
    # How long POST /analyze waits for its decision.
    analyze_timeout_s: float = 300.0

    # Identity. The access tokens' signing secret (HS256): at least 32 characters outside
    # development; in development, when unset, one is generated into <home>/jwt-secret (0600).
    jwt_secret: SecretStr | None = None
    # The access token's and the refresh token's lifetimes.
    access_token_ttl_s: int = Field(default=900, ge=30, le=86400)
    refresh_token_ttl_s: int = Field(default=30 * 86400, ge=300, le=365 * 86400)
    # The first start creates user "admin" with this password (or a generated one, written to
    # <home>/admin-password, mode 0600).
    admin_password: SecretStr | None = None
    # Four eyes: whoever started a strategy cannot approve its orders (False for a one-person desk).
    four_eyes: bool = True
    # Refused sign-ins within the window, per user name and per client address, before 429.
    login_window_s: float = Field(default=900.0, gt=0)
    login_max_failures_per_user: int = Field(default=5, ge=1)
    login_max_failures_per_client: int = Field(default=20, ge=1)
    # Quota: strategies running at once per user.
    max_running_strategies_per_user: int = Field(default=20, ge=1)

    # Request hardening (api/limits.py, api/security_headers.py). A JSON body over max_body_bytes,
    # or a CSV upload over max_import_bytes, is refused with 413 before it is read whole.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_import_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # Files a request may name (a backtest's csv_path): only under this directory (default
    # <home>/data); `asts backtest --data FILE` uploads FILE there (POST /data/files).
    data_dir: Path | None = None
    # Users' strategy directories (or files), separated by the OS path separator (":" here); the
    # worker and the API load them, with the built-ins and the `asts.strategies` entry points, at
    # start, and refuse to start on a broken one.
    strategy_paths: str = ""
    # Host headers the API answers (anything else: 400, against DNS rebinding); "*" allows any.
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost", "::1", "[::1]", "testserver"]
    )
    # Quotas: backtests and optimisations running at once, per user and in all.
    max_running_backtests_per_user: int = Field(default=4, ge=1)
    max_running_backtests: int = Field(default=16, ge=1)
    max_running_optimizations_per_user: int = Field(default=2, ge=1)
    max_running_optimizations: int = Field(default=8, ge=1)
    # GET /scan: bars requests one on-demand scan may make to refine its ranking.
    scan_max_refine: int = Field(default=50, ge=0, le=200)
    # The daily LLM allowance shared by the ad-hoc analyses (POST /analyze); None: no limit.
    analyze_daily_tokens: int | None = Field(default=200_000, ge=0)
    analyze_daily_cost: Decimal | None = Field(default=None, ge=0)
    # Notification channels, as JSON: [{"name": "desk", "kind": "webhook", "url": "...", "secret":
    # "..."}, {"name": "tg", "kind": "telegram", "secret": "<bot token>", "chat_id": "..."},
    # {"name": "ops", "kind": "slack", "url": "..."}], each with optional "events" (kinds) and
    # "fills" (default true); see activities.notify_contracts.NotifyChannel. The notifier
    # workflow delivers every notify_interval_s.
    notify: list[NotifyChannel] = Field(default_factory=list, max_length=20)
    notify_interval_s: float = Field(default=5.0, ge=0.5, le=3600)

    def exchange_options(self) -> dict[str, Any]:
        """What the paper venue is opened with besides its home and speed (its margin terms)."""
        return {} if self.paper_margin is None else {"margin": self.paper_margin}

    def llm_config(self) -> LlmConfig | None:
        """The agents' model, or None when none is configured."""
        if not self.llm_base_url:
            return None
        if not self.llm_model:
            raise ValueError("ASTS_LLM_BASE_URL is set but ASTS_LLM_MODEL is not")
        return LlmConfig(
            base_url=self.llm_base_url,
            model=self.llm_model,
            api_key=self.llm_api_key or SecretStr("not-needed"),
            timeout_s=self.llm_timeout_s,
            structured=self.llm_structured,
            max_tokens=self.llm_max_tokens,
            temperature=self.llm_temperature,
            prices={k: Price.model_validate(v) for k, v in self.llm_prices.items()},
        )

    @property
    def db_url(self) -> str:
        """The application database: ``ASTS_DATABASE_URL`` or SQLite under the state directory."""
        if self.database_url:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{(self.home / 'asts.db').resolve()}"

    @property
    def address(self) -> str:
        """The Temporal frontend to use."""
        return self.temporal_address or "127.0.0.1:7233"

    @property
    def ui_origins(self) -> list[str]:
        """The Web UI origins the codec endpoints answer (CORS): configured, or the embedded UI's."""
        return self.codec_origins or [f"http://127.0.0.1:{self.ui_port}", f"http://localhost:{self.ui_port}"]

    @property
    def temporal_ui(self) -> str | None:
        """The Web UI's address for links, or None when there is none to link to."""
        if self.temporal_ui_url:
            return self.temporal_ui_url.rstrip("/")
        return f"http://127.0.0.1:{self.ui_port}" if self.env == "development" else None

    @property
    def data_path(self) -> Path:
        """The directory files named by requests must be under: ``data_dir`` or ``<home>/data``."""
        return self.data_dir or self.home / "data"

    @property
    def base_url(self) -> str:
        """Where the CLI finds the API."""
        return self.api_url or f"http://{self.api_host}:{self.api_port}"


def load_strategies(settings: Settings) -> Registry:
    """Load and install the process's strategy registry (``StrategyLoadError`` names what is broken);
    the look-ahead checks' verdicts are cached by code version in the user's cache directory."""
    from asts import registry

    paths = registry.parse_paths(settings.strategy_paths)
    return registry.install(registry.load(paths, cache_dir=registry.default_cache_dir()))
