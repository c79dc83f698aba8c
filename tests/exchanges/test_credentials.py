"""Venue keys: from the environment or a private secrets file, never shown."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from exchanges.credentials import SECRETS_FILE_ENV, load_credentials
from trading.errors import InvalidInput


def test_keys_from_the_environment_are_secret() -> None:
    env = {"ASTS_EXCHANGE_BINANCE_API_KEY": "k-123", "ASTS_EXCHANGE_BINANCE_SECRET": "s-456"}
    creds = load_credentials("binance", env)
    assert creds is not None
    assert creds.ccxt_config() == {"apiKey": "k-123", "secret": "s-456"}
    shown = f"{creds!r} {creds} {creds.model_dump()}"
    assert "k-123" not in shown and "s-456" not in shown


def test_a_key_without_its_secret_is_refused() -> None:
    with pytest.raises(InvalidInput, match="must be set together"):
        load_credentials("binance", {"ASTS_EXCHANGE_BINANCE_API_KEY": "k"})


def test_names_with_dashes_use_underscores() -> None:
    env = {
        "ASTS_EXCHANGE_MY_OKX_API_KEY": "k",
        "ASTS_EXCHANGE_MY_OKX_SECRET": "s",
        "ASTS_EXCHANGE_MY_OKX_PASSWORD": "p",
    }
    creds = load_credentials("my-okx", env)
    assert creds is not None and creds.ccxt_config()["password"] == "p"


def test_no_keys_means_public_data_only() -> None:
    assert load_credentials("binance", {}) is None


def write_secrets(path: Path, data: object, mode: int = 0o600) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    path.chmod(mode)
    return path


def test_keys_from_a_private_secrets_file(tmp_path: Path) -> None:
    f = write_secrets(tmp_path / "secrets.json", {"binance": {"api_key": "fk", "secret": "fs"}})
    creds = load_credentials("binance", {SECRETS_FILE_ENV: str(f)})
    assert creds is not None and creds.ccxt_config() == {"apiKey": "fk", "secret": "fs"}
    assert load_credentials("kraken", {SECRETS_FILE_ENV: str(f)}) is None


def test_a_secrets_file_others_can_read_is_refused(tmp_path: Path) -> None:
    f = write_secrets(tmp_path / "secrets.json", {"binance": {"api_key": "fk", "secret": "fs"}}, 0o644)
    with pytest.raises(InvalidInput, match="chmod 600"):
        load_credentials("binance", {SECRETS_FILE_ENV: str(f)})


def test_a_broken_secrets_file_is_named_without_its_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    f = write_secrets(tmp_path / "secrets.json", '{"binance": {"api_key": "leak-me", ')
    with caplog.at_level(logging.DEBUG), pytest.raises(InvalidInput) as info:
        load_credentials("binance", {SECRETS_FILE_ENV: str(f)})
    assert "not valid JSON" in str(info.value) and "leak-me" not in str(info.value)
    bad = write_secrets(tmp_path / "bad.json", {"binance": {"api_key": "leak-me"}})
    with pytest.raises(InvalidInput, match="secret") as info2:
        load_credentials("binance", {SECRETS_FILE_ENV: str(bad)})
    assert "leak-me" not in str(info2.value)
    with pytest.raises(InvalidInput, match="cannot be read"):
        load_credentials("binance", {SECRETS_FILE_ENV: str(tmp_path / "missing.json")})
    shape = write_secrets(tmp_path / "shape.json", ["x"])
    with pytest.raises(InvalidInput, match="must map"):
        load_credentials("binance", {SECRETS_FILE_ENV: str(shape)})
