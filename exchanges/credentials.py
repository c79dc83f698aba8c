"""Venue API keys: read from the environment or a secrets file, held as ``SecretStr``.

Keys never travel as workflow or activity inputs: the worker that calls the venue reads
them here when it opens the venue, so they are never in workflow history. ``SecretStr``
keeps them out of ``repr``, logs and error messages.

Sources, first match wins, per venue name ``NAME`` (upper case, ``-`` as ``_``):
- ``ASTS_EXCHANGE_NAME_API_KEY``, ``ASTS_EXCHANGE_NAME_SECRET`` (and ``_PASSWORD``, ``_UID``
  for venues that need them);
- the JSON file named by ``ASTS_EXCHANGE_SECRETS_FILE``:
  ``{"binance": {"api_key": "...", "secret": "..."}}``. It must not be readable by group or
  others (like an SSH key), so a mistake in its permissions is refused, not ignored.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from trading.errors import InvalidInput

SECRETS_FILE_ENV = "ASTS_EXCHANGE_SECRETS_FILE"


class Credentials(BaseModel):
    """The keys of one venue account."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr
    secret: SecretStr
    password: SecretStr | None = None
    uid: SecretStr | None = None

    def ccxt_config(self) -> dict[str, str]:
        """The ccxt constructor fields (the only place the keys are revealed)."""
        out = {"apiKey": self.api_key.get_secret_value(), "secret": self.secret.get_secret_value()}
        if self.password is not None:
            out["password"] = self.password.get_secret_value()
        if self.uid is not None:
            out["uid"] = self.uid.get_secret_value()
        return out


def _env_prefix(name: str) -> str:
    return "ASTS_EXCHANGE_" + name.upper().replace("-", "_") + "_"


def load_credentials(name: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    """The keys of venue ``name``, or None when none are configured (public data only)."""
    env = os.environ if env is None else env
    prefix = _env_prefix(name)
    key, secret = env.get(prefix + "API_KEY"), env.get(prefix + "SECRET")
    if key or secret:
        if not (key and secret):
            raise InvalidInput(f"{prefix}API_KEY and {prefix}SECRET must be set together")
        return Credentials(
            api_key=SecretStr(key),
            secret=SecretStr(secret),
            password=SecretStr(env[prefix + "PASSWORD"]) if env.get(prefix + "PASSWORD") else None,
            uid=SecretStr(env[prefix + "UID"]) if env.get(prefix + "UID") else None,
        )
    path = env.get(SECRETS_FILE_ENV)
    if not path:
        return None
    entries = read_secrets_file(Path(path))
    entry = entries.get(name)
    if entry is None:
        return None
    try:
        return Credentials.model_validate(entry)
    except ValidationError as e:
        fields = ", ".join(str(err["loc"][0]) for err in e.errors() if err["loc"])
        raise InvalidInput(f"secrets file {path}: entry {name!r} is invalid (check: {fields})") from None


def read_secrets_file(path: Path) -> dict[str, dict[str, str]]:
    """The secrets file's entries; refuses a file that group or others can read."""
    try:
        mode = path.stat().st_mode
    except OSError as e:
        raise InvalidInput(f"secrets file {path} cannot be read: {e.strerror or e}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            f"secrets file {path} is accessible by group or others (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        # The message names the position only: the file's text must not reach a log.
        where = f" at line {e.lineno}" if isinstance(e, json.JSONDecodeError) else ""
        raise InvalidInput(f"secrets file {path} is not valid JSON{where}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InvalidInput(f'secrets file {path} must map venue names to {{"api_key", "secret"}} objects')
    return data
