"""The LLM client: any OpenAI-compatible endpoint, structured answers, usage and cost per call.

Retries belong to Temporal, not to the SDK (``max_retries=0``): a timeout, a dropped connection,
a 5xx or a 429 raises :class:`LlmUnavailable` (temporary: the activity is retried with backoff);
a refused request (401, 400, 404) raises :class:`LlmRejected`. An answer that does not validate
against the schema gets one repair attempt; if that fails too, :class:`LlmInvalidAnswer`. Every
call, whatever its outcome, is appended to the caller's call log, so its tokens and cost are
recorded and count against budgets. The API key is a ``SecretStr``: never logged, never in a
workflow's history (activities read it from their dependencies, not from their input).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

import openai
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from trading.errors import DomainError, TemporaryError

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
Structured = Literal["json_schema", "json_object", "tools"]
_MILLION = Decimal(1_000_000)
# Statuses worth retrying besides 5xx: timeout, conflict, rate limit.
RETRYABLE_STATUS = frozenset({408, 409, 429})
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class LlmUnavailable(TemporaryError):
    """The model did not answer (timeout, connection, 5xx, rate limit): retry later."""


class LlmRejected(DomainError):
    """The endpoint refused the request (authentication, bad request, unknown model)."""


class LlmInvalidAnswer(DomainError):
    """The answer did not fit the schema, even after one repair attempt."""


class Price(BaseModel):
    """Price per million tokens, input and output, in the account's currency."""

    model_config = ConfigDict(frozen=True)

    input: Decimal = Field(default=Decimal(0), ge=0)
    output: Decimal = Field(default=Decimal(0), ge=0)


class LlmConfig(BaseModel):
    """Where the model is and how to ask it; built from settings by the worker."""

    model_config = ConfigDict(frozen=True)

    base_url: str
    model: str
    api_key: SecretStr = SecretStr("not-needed")
    timeout_s: float = Field(default=30.0, gt=0)
    structured: Structured = "json_schema"
    max_tokens: int = Field(default=400, ge=16)
    temperature: float = Field(default=0.0, ge=0, le=2)
    # Model name (or "*") -> price per million tokens.
    prices: dict[str, Price] = Field(default_factory=dict)

    def price(self) -> Price:
        """This model's price (the "*" entry, or free, when it is not listed)."""
        return self.prices.get(self.model) or self.prices.get("*") or Price()


@dataclass
class LlmCall:
    """One request to the model and what it cost, recorded whatever happened."""

    purpose: str
    model: str
    prompt_hash: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost: Decimal = Decimal(0)
    latency_ms: float = 0.0
    ok: bool = False
    error: str = ""
    # When the call was made (budgets count it on that UTC day).
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class CallLog:
    """The calls made for one decision, in order, and the running totals."""

    calls: list[LlmCall] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        """Input plus output tokens of every call."""
        return sum(c.tokens_in + c.tokens_out for c in self.calls)

    @property
    def cost(self) -> Decimal:
        """Cost of every call."""
        return sum((c.cost for c in self.calls), Decimal(0))


def prompt_hash(model: str, messages: Sequence[Mapping[str, Any]], schema: Mapping[str, Any]) -> str:
    """A stable hash of what was asked: model, messages and answer schema."""
    blob = json.dumps({"model": model, "messages": list(messages), "schema": schema}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def answer_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema a model is asked to follow: the model's own ``llm_schema()`` if it has one."""
    custom = getattr(schema, "llm_schema", None)
    return custom() if callable(custom) else schema.model_json_schema()


def parse_answer(text: str, schema: type[T]) -> T:
    """Read a JSON object (optionally in a code fence) and validate it; raises ValueError."""
    m = _FENCE.match(text)
    body = m.group(1) if m else text.strip()
    try:
        data = json.loads(body, strict=False)  # raw newlines inside strings are common and harmless
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON: {e.msg} at position {e.pos}") from None
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}" for err in e.errors()
        )
        raise ValueError(f"does not fit the schema: {problems}") from None


class LlmClient:
    """Asks one model for answers that validate against a pydantic schema."""

    def __init__(self, config: LlmConfig, client: openai.AsyncOpenAI | None = None) -> None:
        self.config = config
        self._client = client or openai.AsyncOpenAI(
            base_url=config.base_url,
            api_key=config.api_key.get_secret_value(),
            timeout=config.timeout_s,
            max_retries=0,
        )

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def structured(
        self, messages: list[dict[str, Any]], schema: type[T], *, purpose: str, log: CallLog
    ) -> T:
        """Ask, validate, and repair once if the answer does not fit."""
        first = await self._ask(messages, schema, purpose=purpose, log=log)
        try:
            return parse_answer(first, schema)
        except ValueError as e:
            log.calls[-1].ok, log.calls[-1].error = False, f"invalid answer: {e}"
            repair = [
                *messages,
                {"role": "assistant", "content": first[:4000]},
                {
                    "role": "user",
                    "content": f"That answer was invalid ({e}). Reply again with only a JSON object "
                    f"that fits this schema: {json.dumps(answer_schema(schema))}",
                },
            ]
        second = await self._ask(repair, schema, purpose=f"{purpose}:repair", log=log)
        try:
            return parse_answer(second, schema)
        except ValueError as e:
            log.calls[-1].ok, log.calls[-1].error = False, f"invalid answer: {e}"
            raise LlmInvalidAnswer(f"{purpose}: invalid answer after one repair: {e}") from None

    async def _ask(
        self, messages: list[dict[str, Any]], schema: type[T], *, purpose: str, log: CallLog
    ) -> str:
        cfg = self.config
        json_schema = answer_schema(schema)
        call = LlmCall(
            purpose=purpose, model=cfg.model, prompt_hash=prompt_hash(cfg.model, messages, json_schema)
        )
        log.calls.append(call)
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "messages": messages,
            "max_tokens": cfg.max_tokens,
            "temperature": cfg.temperature,
        }
        name = schema.__name__.lower()
        if cfg.structured == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": json_schema, "strict": True},
            }
        elif cfg.structured == "json_object":
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        else:
            kwargs["tools"] = [{"type": "function", "function": {"name": name, "parameters": json_schema}}]
            kwargs["tool_choice"] = {"type": "function", "function": {"name": name}}
        started = time.perf_counter()
        try:
            resp = await self._client.chat.completions.create(**kwargs)
        except openai.APIStatusError as e:
            call.error = f"HTTP {e.status_code}: {_brief(e)}"
            if e.status_code in RETRYABLE_STATUS or e.status_code >= 500:
                raise LlmUnavailable(f"{purpose}: model endpoint answered {call.error}") from None
            raise LlmRejected(f"{purpose}: model endpoint refused the request: {call.error}") from None
        except (openai.APITimeoutError, openai.APIConnectionError) as e:
            call.error = type(e).__name__
            raise LlmUnavailable(f"{purpose}: model endpoint unreachable ({call.error})") from None
        except openai.APIError as e:  # e.g. a response the SDK cannot read
            call.error = f"{type(e).__name__}: {str(e)[:300]}"
            raise LlmUnavailable(
                f"{purpose}: unusable answer from the model endpoint ({call.error})"
            ) from None
        finally:
            call.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        usage = resp.usage
        call.tokens_in = usage.prompt_tokens if usage else 0
        call.tokens_out = usage.completion_tokens if usage else 0
        price = cfg.price()
        call.cost = (price.input * call.tokens_in + price.output * call.tokens_out) / _MILLION
        call.ok = True
        msg = resp.choices[0].message if resp.choices else None
        if msg is None:
            return ""
        if msg.tool_calls:
            fn = getattr(msg.tool_calls[0], "function", None)
            return fn.arguments if fn is not None else ""
        return msg.content or ""


def _brief(e: openai.APIStatusError) -> str:
    body = e.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
    return str(e.message)[:300]
