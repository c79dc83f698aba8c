"""The database URL is a secret: its password is never printed, not in settings, CLI errors or the
tracebacks of a worker that cannot reach its database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from exchanges.data import DATA_DIR
from store.db import display_url, scrub
from tests.pg import pg_server_url
from worker.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = f"pw-{uuid.uuid4().hex[:12]}"


def asts(*args: str, home: Path, url: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASTS_", "TEMPORAL_"))}
    env.update(NO_COLOR="1", COLUMNS="200", ASTS_HOME=str(home), ASTS_DATABASE_URL=url)
    env["TEMPORAL_ADDRESS"] = "127.0.0.1:1"
    cmd = [sys.executable, "-m", "worker.cli", *args]
    return subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_settings_and_messages_show_the_url_with_its_password_masked() -> None:
    url = f"postgresql+asyncpg://asts:{PASSWORD}@db:5432/asts"
    settings = Settings(database_url=url)  # type: ignore[arg-type]
    assert settings.db_url == url and PASSWORD not in repr(settings) + str(settings.model_dump())
    assert display_url(url) == "postgresql+asyncpg://asts:***@db:5432/asts"
    assert scrub(f"cannot use {url}: bad password {PASSWORD}", url) == (
        "cannot use postgresql+asyncpg://asts:***@db:5432/asts: bad password ***"
    )
    assert display_url("::not a url::") == "<a database URL that does not parse>"
    encoded = "postgresql://asts:p%40ss-w0rd@db/asts"  # the password is p@ss-w0rd
    assert "p@ss" not in scrub("p@ss-w0rd and " + encoded, encoded)


def test_a_cli_error_about_the_database_masks_the_password(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://asts:{PASSWORD}@127.0.0.1:notaport/asts"
    csv = DATA_DIR / "MSFT-USD-1d.csv"
    run = asts(
        "data", "import", str(csv), "--symbol", "MSFT/USD", "--timeframe", "1d", home=tmp_path, url=url
    )
    assert run.returncode == 1, run
    assert "cannot open the database <a database URL that does not parse>: invalid literal" in run.stderr
    assert PASSWORD not in run.stdout + run.stderr


def test_a_wrong_password_is_named_as_such_and_never_shown(tmp_path: Path) -> None:
    url = make_url(pg_server_url()).set(password=PASSWORD).render_as_string(hide_password=False)
    csv = DATA_DIR / "MSFT-USD-1d.csv"
    run = asts(
        "data", "import", str(csv), "--symbol", "MSFT/USD", "--timeframe", "1d", home=tmp_path, url=url
    )
    assert run.returncode == 1 and "password authentication failed" in run.stderr, run
    assert PASSWORD not in run.stdout + run.stderr
    for command in (["worker"], ["api", "--port", "1"]):  # the traceback of a process that cannot start
        started = asts(*command, home=tmp_path, url=url, timeout=60)
        assert started.returncode != 0 and "password authentication failed" in started.stdout + started.stderr
        assert PASSWORD not in started.stdout + started.stderr, command
