"""The LLM emulator speaks the OpenAI wire format well enough for the real ``openai`` client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
import pytest_asyncio

from tests.llm_emulator import LlmEmulator, fake_for_schema, serve_llm_emulator

SIGNAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "signal": {"type": "string", "enum": ["buy", "sell", "hold"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "size": {"type": "number", "minimum": 0, "maximum": 1},
        "rationale": {"type": "string"},
        "evidence": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["signal", "confidence", "size", "rationale", "evidence"],
    "additionalProperties": False,
}
JSON_SCHEMA_FORMAT: Any = {
    "type": "json_schema",
    "json_schema": {"name": "signal", "schema": SIGNAL_SCHEMA, "strict": True},
}
MESSAGES: list[Any] = [
    {"role": "system", "content": "You are a trading analyst."},
    {"role": "user", "content": "MSFT closed up three days in a row"},
]


@pytest_asyncio.fixture(loop_scope="session")
async def emu() -> AsyncIterator[LlmEmulator]:
    async with serve_llm_emulator(delay_s=5.0) as e:
        yield e


def client(emu: LlmEmulator, **kw: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=emu.base_url, api_key="x", max_retries=0, **kw)


async def test_ok_answer_is_a_valid_object_for_the_schema_and_requests_are_recorded(emu: LlmEmulator) -> None:
    out = await client(emu).chat.completions.create(
        model=emu.model, messages=MESSAGES, response_format=JSON_SCHEMA_FORMAT, max_tokens=200
    )
    assert out.object == "chat.completion" and out.model == "emu-1"
    assert out.choices[0].finish_reason == "stop"
    answer = json.loads(out.choices[0].message.content or "")
    assert answer == {
        "signal": "buy",
        "confidence": 0.5,
        "size": 0.5,
        "rationale": "emulated",
        "evidence": [],
    }
    assert out.usage is not None
    assert (out.usage.prompt_tokens, out.usage.completion_tokens) == (13, 10)
    assert out.usage.total_tokens == 23
    assert emu.requests[-1]["messages"][1]["content"] == MESSAGES[1]["content"]
    assert emu.requests[-1]["response_format"] == JSON_SCHEMA_FORMAT
    models = await client(emu).models.list()
    assert [m.id for m in models.data] == ["emu-1"]


async def test_scripted_answers_malformed_and_invalid_then_the_default(emu: LlmEmulator) -> None:
    llm = client(emu)
    emu.script("ok", "malformed", "invalid")
    emu.answer({"signal": "sell", "confidence": 0.9, "size": 0.2, "rationale": "r", "evidence": ["e"]})

    async def content() -> str:
        out = await llm.chat.completions.create(
            model=emu.model, messages=MESSAGES, response_format=JSON_SCHEMA_FORMAT
        )
        return out.choices[0].message.content or ""

    assert json.loads(await content())["signal"] == "sell"
    with pytest.raises(json.JSONDecodeError):
        json.loads(await content())
    invalid = json.loads(await content())
    assert not set(SIGNAL_SCHEMA["required"]) & set(invalid)
    assert json.loads(await content())["signal"] == "buy"  # back to the default


async def test_tools_are_answered_with_a_tool_call(emu: LlmEmulator) -> None:
    tool: Any = {"type": "function", "function": {"name": "decide", "parameters": SIGNAL_SCHEMA}}
    choice: Any = {"type": "function", "function": {"name": "decide"}}
    out = await client(emu).chat.completions.create(
        model=emu.model,
        messages=MESSAGES,
        tools=[tool],
        tool_choice=choice,
    )
    choice = out.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "decide"
    assert json.loads(call.function.arguments)["signal"] == "buy"


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        ("500", openai.InternalServerError),
        ("429", openai.RateLimitError),
        ("401", openai.AuthenticationError),
    ],
)
async def test_http_errors_map_to_the_openai_exceptions(
    emu: LlmEmulator, behaviour: Any, error: type[Exception]
) -> None:
    emu.script(behaviour)
    with pytest.raises(error):
        await client(emu).chat.completions.create(model=emu.model, messages=MESSAGES)


async def test_timeout_does_not_block_other_requests(emu: LlmEmulator) -> None:
    emu.script("timeout")
    slow = asyncio.create_task(
        client(emu, timeout=1.0).chat.completions.create(model=emu.model, messages=MESSAGES)
    )
    await asyncio.sleep(0.2)  # the slow request reaches the server first
    started = time.monotonic()
    fast = await client(emu).chat.completions.create(model=emu.model, messages=MESSAGES)
    assert fast.choices[0].message.content == "emulated answer"
    assert time.monotonic() - started < 0.9
    with pytest.raises(openai.APITimeoutError):
        await slow


def test_fake_values_respect_bounds_refs_and_lengths() -> None:
    schema = {
        "$defs": {"Side": {"enum": ["long", "short"]}},
        "type": "object",
        "properties": {
            "side": {"$ref": "#/$defs/Side"},
            "price": {"type": "number", "minimum": 10, "maximum": 1000},
            "count": {"type": "integer", "exclusiveMinimum": 3},
            "note": {"anyOf": [{"type": "null"}, {"type": "string", "minLength": 12}]},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "optional": {"type": "string"},
        },
        "required": ["side", "price", "count", "note", "tags"],
    }
    assert fake_for_schema(schema) == {
        "side": "long",
        "price": 10,
        "count": 4,
        "note": "emulatedxxxx",
        "tags": ["emulated"],
    }
