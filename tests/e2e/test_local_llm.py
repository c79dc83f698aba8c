"""The local LLM for real: SmolLM2 behind llama_cpp.server, alone and under `asts up --llm local`."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.procs import free_port, kill_group, signed_in_client, spawn, wait_http
from worker.llm_local import MODEL_ALIAS, STRUCTURED, LocalLlm, port_open, start_local_llm

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None,
    reason="llama-cpp-python is not installed (the llm extra: pip install -e '.[llm]')",
)

DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "signal": {"type": "string", "enum": ["buy", "sell", "hold"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "size": {"type": "number", "minimum": 0, "maximum": 1},
        "rationale": {"type": "string", "maxLength": 160},
        "evidence": {"type": "array", "items": {"type": "string", "maxLength": 80}, "maxItems": 3},
    },
    "required": ["signal", "confidence", "size", "rationale", "evidence"],
}


@pytest.fixture(scope="module")
def local_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLlm]:
    llm = start_local_llm(free_port(), log_path=tmp_path_factory.mktemp("llm") / "llm.log")
    try:
        yield llm
    finally:
        llm.stop()


async def test_structured_answer_from_the_real_model(local_llm: LocalLlm) -> None:
    assert STRUCTURED == "json_object"
    structured: Any = {"type": "json_object", "schema": DECISION_SCHEMA}  # llama.cpp's extension
    messages: Any = [
        {"role": "system", "content": "You are a trading analyst. Answer with one JSON object."},
        {"role": "user", "content": "MSFT closes: 410.2, 413.0, 416.1, 418.9. The fast SMA crossed up."},
    ]
    client = openai.AsyncOpenAI(base_url=local_llm.base_url, api_key="local", max_retries=0, timeout=120)
    out = await client.chat.completions.create(
        model=MODEL_ALIAS,
        messages=messages,
        response_format=structured,
        # Room for the longest answer the schema's grammar admits (160 + 3 x 80 characters of text,
        # a token each at worst, and the rest): which answer a 135M model gives greedily depends on
        # the CPU kernels llama.cpp was built with, and a cut one is not JSON.
        max_tokens=600,
        temperature=0,
    )
    assert out.model == MODEL_ALIAS
    assert out.choices[0].finish_reason == "stop", out.choices[0].message.content
    answer = json.loads(out.choices[0].message.content or "")
    assert set(DECISION_SCHEMA["required"]) <= set(answer)
    assert answer["signal"] in ("buy", "sell", "hold")
    assert isinstance(answer["evidence"], list)
    assert out.usage is not None and out.usage.completion_tokens > 0


def test_up_with_the_local_llm_runs_the_demo_agent_on_it_and_stops_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    api_port, t_port, ui_port, llm_port = free_port(), free_port(), free_port(), free_port()
    ports = ["--api-port", str(api_port), "--temporal-port", str(t_port), "--ui-port", str(ui_port)]
    proc = spawn(
        ["up", *ports, "--llm", "local", "--demo"],
        home=home,
        log_name="up.log",
        env={"ASTS_LLM_LOCAL_PORT": str(llm_port)},
    )
    try:
        wait_http(f"http://127.0.0.1:{api_port}/health", proc, home / "up.log")
        # The server answers /v1/models only between completions (one lock guards the model), and
        # the demo agent may be asking it already: wait out an answer of up to max_tokens.
        models = httpx.get(f"http://127.0.0.1:{llm_port}/v1/models", timeout=120).json()
        assert [m["id"] for m in models["data"]] == [MODEL_ALIAS]
        pids = subprocess.run(
            ["pgrep", "-f", f"worker.cli worker --home {home}"], capture_output=True, text=True
        ).stdout.split()
        assert len(pids) == 1, pids
        environ = dict(
            item.split("=", 1)
            for item in Path(f"/proc/{pids[0]}/environ").read_text().split("\0")
            if "=" in item
        )
        assert environ["ASTS_LLM_BASE_URL"] == f"http://127.0.0.1:{llm_port}/v1"
        assert environ["ASTS_LLM_MODEL"] == MODEL_ALIAS
        assert environ["ASTS_LLM_STRUCTURED"] == STRUCTURED
        decision = agent_decision(f"http://127.0.0.1:{api_port}", proc, home / "up.log")
        # Judge the plumbing, not the tiny model's wisdom: asked, answered, recorded in full.
        assert decision["model"] == MODEL_ALIAS and decision["tokens_in"] > 0
        assert decision["mode"] in ("llm", "failsafe_hold"), decision
        assert decision["output"]["calls"] and decision["prompt_hash"]
        if decision["mode"] == "failsafe_hold":
            assert decision["target"] == "hold" and decision["error"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, (home / "up.log").read_text()[-3000:]
        assert not port_open("127.0.0.1", llm_port), "the local LLM server outlived the stack"
    finally:
        if proc.poll() is None:
            kill_group(proc, signal.SIGTERM)


def agent_decision(
    api: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 240.0
) -> dict[str, Any]:
    """The demo agent's first decision that the model answered, in full. One asked but not
    answered (the small model too slow on a loaded machine) must say why; the next is awaited."""
    deadline = time.monotonic() + timeout
    unanswered: dict[str, Any] = {}
    with signed_in_client(api, log.parent) as http:
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            strategies = http.get("/strategies").json()["data"]
            agent = next((s for s in strategies if s["type"] == "agent"), None)
            if agent is not None:
                page = http.get("/decisions", params={"strategy_id": agent["id"]}).json()
                for d in [d for d in page["data"] if d["model"]]:
                    full = dict(http.get(f"/decisions/{d['id']}").json())
                    if full["tokens_in"] > 0:
                        return full
                    assert full["mode"] == "failsafe_hold" and full["error"], full
                    unanswered = full
            time.sleep(1)
    raise AssertionError(f"the model answered no decision of the demo agent in {timeout:g}s: {unanswered}")
