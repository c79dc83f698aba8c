"""An OpenAI-compatible chat-completions server for tests, with scripted behaviours.

It serves ``POST /v1/chat/completions`` and ``GET /v1/models`` on 127.0.0.1 from a
background thread (its own event loop, so synchronous test code and subprocesses can
call it too). Each request takes the next scripted behaviour, then ``emu.default``::

    async with serve_llm_emulator() as emu:
        emu.script("500", "malformed", "ok")        # the next three requests, in order
        emu.answer({"signal": "buy", "confidence": 0.9, "size": 0.1, "rationale": "x", "evidence": []})
        llm = openai.AsyncOpenAI(base_url=emu.base_url, api_key="x", max_retries=0)
        ...
        assert emu.requests[-1]["response_format"]["type"] == "json_schema"

Behaviours: ``ok`` (the next ``emu.answer(...)`` if any, else ``emu.responder(body)``,
by default a valid object for the request's JSON schema), ``malformed`` (not JSON),
``invalid`` (JSON without the required fields), ``timeout`` (answers after
``emu.delay_s``), ``500``, ``429`` and ``401`` (with OpenAI-style error bodies). A
request with ``tools`` is answered with a tool call whose arguments are that content.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal, get_args

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from worker.launcher import free_port

Behaviour = Literal["ok", "malformed", "invalid", "timeout", "500", "429", "401"]
Responder = Callable[[dict[str, Any]], dict[str, Any] | str]

BEHAVIOURS: tuple[str, ...] = get_args(Behaviour)
MALFORMED = '{"signal": "buy", conf'
READY_TIMEOUT_S = 10.0

ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "500": (
        500,
        {"message": "The server had an error while processing your request.", "type": "server_error"},
    ),
    "429": (
        429,
        {"message": "Rate limit reached (emulated).", "type": "requests", "code": "rate_limit_exceeded"},
    ),
    "401": (
        401,
        {
            "message": "Incorrect API key provided (emulated).",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        },
    ),
}


def request_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a request asks for: from ``response_format`` or the chosen tool, else None."""
    tool = chosen_tool(body)
    if tool is not None:
        params = tool.get("function", {}).get("parameters")
        return params if isinstance(params, dict) else None
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None
    if fmt.get("type") == "json_object" and isinstance(fmt.get("schema"), dict):
        return dict(fmt["schema"])
    return None


def chosen_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The tool a request makes the model call (named by ``tool_choice``, else the first), or None."""
    tools = body.get("tools") or []
    if not tools or body.get("tool_choice") == "none":
        return None
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        for tool in tools:
            if tool.get("function", {}).get("name") == name:
                return dict(tool)
    return dict(tools[0])


def fake_for_schema(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A plausible value valid for ``schema``: first enum values, 0.5 or the minimum, "emulated", []."""
    defs = defs if defs is not None else {**schema.get("definitions", {}), **schema.get("$defs", {})}
    if "$ref" in schema:
        return fake_for_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return fake_for_schema(options[0], defs)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        props: dict[str, Any] = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {name: fake_for_schema(props.get(name, {}), defs) for name in required}
    if kind == "array":
        return [fake_for_schema(schema.get("items", {}), defs) for _ in range(schema.get("minItems", 0))]
    if kind in ("number", "integer"):
        return _fake_number(schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _fake_string(schema)


def _fake_number(schema: dict[str, Any], *, integer: bool) -> float | int:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    x_lo, x_hi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    guess = 1 if integer else 0.5

    def fits(v: float) -> bool:
        return (
            (lo is None or v >= lo)
            and (hi is None or v <= hi)
            and (x_lo is None or v > x_lo)
            and (x_hi is None or v < x_hi)
        )

    if fits(guess):
        return guess
    for candidate in (lo, x_lo, hi, x_hi):
        if candidate is None:
            continue
        step = 1 if integer else 0.5
        for v in (candidate, candidate + step, candidate - step, candidate + 0.001, candidate - 0.001):
            if fits(v) and (not integer or float(v).is_integer()):
                return int(v) if integer else v
    return 0


def _fake_string(schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    text = {"date-time": "2024-01-02T00:00:00Z", "date": "2024-01-02"}.get(fmt or "", "emulated")
    text = text.ljust(schema.get("minLength", 0), "x")
    return text[: schema["maxLength"]] if "maxLength" in schema else text


def schema_responder(body: dict[str, Any]) -> dict[str, Any] | str:
    """The default ``ok`` answer: a valid object for the request's schema, else plain text."""
    schema = request_schema(body)
    if schema is not None:
        value = fake_for_schema(schema)
        return value if isinstance(value, dict) else json.dumps(value)
    if (body.get("response_format") or {}).get("type") == "json_object" or chosen_tool(body):
        return {"answer": "emulated"}
    return "emulated answer"


def _invalid(body: dict[str, Any]) -> str:
    schema = request_schema(body) or {}
    value = fake_for_schema(schema) if schema.get("required") else {}
    if isinstance(value, dict):
        for name in schema.get("required", []):
            value.pop(name, None)
    return json.dumps(value)


def _words(text: Any) -> int:
    return len(text.split()) if isinstance(text, str) else 0


def prompt_tokens(body: dict[str, Any]) -> int:
    """Whitespace words in every message (text parts and tool-call arguments included)."""
    total = 0
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, list):
            total += sum(_words(part.get("text")) for part in content if isinstance(part, dict))
        else:
            total += _words(content)
        for call in message.get("tool_calls") or []:
            total += _words((call.get("function") or {}).get("arguments"))
    return total


class LlmEmulator:
    """The emulator's state: the recorded requests, the behaviour script and the queued answers."""

    def __init__(
        self,
        *,
        model: str = "emu-1",
        default: Behaviour = "ok",
        delay_s: float = 30.0,
        responder: Responder = schema_responder,
        retry_after_s: float | None = None,
    ) -> None:
        self.model = model
        self.default: Behaviour = default
        self.delay_s = delay_s
        self.responder: Responder = responder
        self.retry_after_s = retry_after_s  # sent as retry-after(-ms) with 429 and 500 when set
        self.base_url = ""
        self.requests: list[dict[str, Any]] = []
        self._script: deque[Behaviour] = deque()
        self._answers: deque[dict[str, Any] | list[Any] | str] = deque()
        self._ids = itertools.count(1)
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests, one each; then ``self.default`` applies."""
        unknown = [b for b in behaviours if b not in BEHAVIOURS]
        if unknown:
            raise ValueError(f"unknown behaviours {unknown}; choose from {BEHAVIOURS}")
        self._script.extend(behaviours)

    def answer(self, *answers: dict[str, Any] | list[Any] | str) -> None:
        """Queue the contents of the next ``ok`` answers (objects are sent as JSON)."""
        self._answers.extend(answers)

    def reset(self) -> None:
        """Forget the recorded requests, the script and the queued answers."""
        self.requests.clear()
        self._script.clear()
        self._answers.clear()

    def app(self) -> FastAPI:
        """The FastAPI application serving the OpenAI routes."""

        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            self._stop = asyncio.Event()
            self._loop = asyncio.get_running_loop()
            yield

        app = FastAPI(lifespan=lifespan)
        app.post("/v1/chat/completions")(self._chat)
        app.get("/v1/models")(self._models)
        return app

    def release(self) -> None:
        """Answer at once every request still sleeping in ``timeout`` (so the server can stop)."""
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self._stop.set)

    async def _models(self) -> dict[str, Any]:
        entry = {"id": self.model, "object": "model", "created": 0, "owned_by": "asts-tests"}
        return {"object": "list", "data": [entry]}

    async def _chat(self, request: Request) -> JSONResponse:
        body: dict[str, Any] = await request.json()
        self.requests.append(body)
        behaviour = self._script.popleft() if self._script else self.default
        if behaviour in ERRORS:
            status, error = ERRORS[behaviour]
            headers = {}
            if self.retry_after_s is not None:
                ms = int(self.retry_after_s * 1000)
                headers = {"retry-after-ms": str(ms), "retry-after": str(max(1, round(self.retry_after_s)))}
            return JSONResponse({"error": {"param": None, "code": None} | error}, status, headers=headers)
        if behaviour == "timeout" and self._stop is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.delay_s)
        if behaviour == "malformed":
            content = MALFORMED
        elif behaviour == "invalid":
            content = _invalid(body)
        else:
            answer = self._answers.popleft() if self._answers else self.responder(body)
            content = answer if isinstance(answer, str) else json.dumps(answer)
        return JSONResponse(self.completion(body, content))

    def completion(self, body: dict[str, Any], content: str) -> dict[str, Any]:
        """A ``chat.completion`` answering ``body`` with ``content`` (as a tool call if it sent tools)."""
        n = next(self._ids)
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        finish = "stop"
        tool = chosen_tool(body)
        if tool is not None:
            call = {"name": tool["function"]["name"], "arguments": content}
            message |= {
                "content": None,
                "tool_calls": [{"id": f"call_{n}", "type": "function", "function": call}],
            }
            finish = "tool_calls"
        prompt, completion = prompt_tokens(body), _words(content)
        return {
            "id": f"chatcmpl-emu-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }


@contextlib.contextmanager
def serve_llm_emulator_sync(**opts: Any) -> Iterator[LlmEmulator]:
    """Serve an ``LlmEmulator(**opts)`` on a free port from a background thread; yield it."""
    emu = LlmEmulator(**opts)
    port = free_port()
    config = uvicorn.Config(emu.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)  # off the main thread it leaves signal handlers alone
    thread = threading.Thread(target=server.run, name=f"llm-emulator-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the LLM emulator did not start on port {port}")
        time.sleep(0.02)
    emu.base_url = f"http://127.0.0.1:{port}/v1"
    try:
        yield emu
    finally:
        emu.release()
        server.should_exit = True
        thread.join(timeout=15)


@contextlib.asynccontextmanager
async def serve_llm_emulator(**opts: Any) -> AsyncIterator[LlmEmulator]:
    """Async form of ``serve_llm_emulator_sync``: the server still runs in its own thread."""
    cm = serve_llm_emulator_sync(**opts)
    emu = await asyncio.to_thread(cm.__enter__)
    try:
        yield emu
    finally:
        await asyncio.to_thread(cm.__exit__, None, None, None)
