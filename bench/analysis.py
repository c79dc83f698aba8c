"""Analysis latency: the graph without a model, and its overhead on top of a model server.

Without a model, the baseline is the analysts' own functions called directly (no graph), so
the ratio is what LangGraph and our nodes add. With a model, the baseline is the server's own
latency: the same prompt sent straight through the ``openai`` client; the graph's figure adds
everything around it (data views, prompt building, validation, the decision). Two servers:
the OpenAI-compatible emulator of the tests (answers at once: the overhead alone shows) and,
when the ``llm`` extra is installed, SmolLM2-135M served by llama-cpp-python (a real model).
Each figure in the table comes from the same run; every server listens on 127.0.0.1.

    python -m bench.analysis [--runs 200] [--llm-runs 20] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import asyncio
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai

from agents.analysis import AnalysisState, run_analysis
from agents.context import AgentContext, AsOfData
from agents.llm import LlmClient, LlmConfig, answer_schema
from agents.prompts import LlmVerdict, verdict_messages
from bench.report import machine_line, percentile, timed, write_section
from trading.analysts import NewsRef, candles_report, closed_bars, combine, gate_confidence, news_report
from trading.models import Candle

T0 = datetime(2017, 1, 2, tzinfo=UTC)
AS_OF = T0 + timedelta(hours=300)


def series(n: int = 400) -> list[Candle]:
    """Hourly bars with a trend and a wave."""
    out = []
    for i in range(n):
        px = Decimal(str(round(100 + 0.1 * i + 3 * math.sin(i / 7), 4)))
        out.append(Candle(T0 + timedelta(hours=i), px, px + 1, px - 1, px, Decimal(100 + i % 13)))
    return out


def headlines() -> list[NewsRef]:
    """Five items before the as-of time."""
    titles = ["beats estimates", "guidance raised", "lawsuit filed", "record revenue", "analyst downgrade"]
    return [
        NewsRef(i + 1, AS_OF - timedelta(hours=5 * (i + 1)), f"Microsoft {t}", 0.5 if i % 2 == 0 else -0.3)
        for i, t in enumerate(titles)
    ]


STATE: AnalysisState = {"symbol": "MSFT/USD", "strategy_type": "agent", "params": {}, "as_of": AS_OF}


def row(name: str, ms: list[float], base: list[float] | None) -> str:
    p50, p95 = percentile(ms, 0.5), percentile(ms, 0.95)
    if base is None:
        return f"| {name} | {len(ms)} | {p50:.2f} | {p95:.2f} | 1.00 | |"
    b50 = percentile(base, 0.5)
    return f"| {name} | {len(ms)} | {p50:.2f} | {p95:.2f} | {p50 / b50:.2f} | {p50 - b50:+.2f} |"


async def without_model(runs: int) -> list[str]:
    """The graph against the analysts' functions called directly."""
    candles, news = series(), headlines()

    async def direct() -> None:
        bars = closed_bars(candles, AS_OF)[-120:]
        tech = candles_report(bars, fast=10, slow=30, rsi_period=14)
        n = news_report(news, as_of=AS_OF, half_life=timedelta(hours=24))
        gate_confidence(combine(tech, n, news_weight=0.3, threshold=0.25), 0.55)

    async def graph() -> None:
        await run_analysis(STATE, AgentContext(data=AsOfData(candles=candles, news=news)))

    base = await timed(direct, runs)
    return [
        row("baseline: analysts called directly, no graph", base, None),
        row("analysis graph, no model", await timed(graph, runs), base),
    ]


async def with_model(label: str, config: LlmConfig, runs: int) -> list[str]:
    """The graph with a model against the same prompt sent straight to the server."""
    candles, news = series(), headlines()
    llm = LlmClient(config)
    raw = openai.AsyncOpenAI(base_url=config.base_url, api_key="bench", max_retries=0, timeout=120)
    first, _ = await run_analysis(STATE, AgentContext(data=AsOfData(candles=candles, news=news), llm=llm))
    messages = verdict_messages(dict(first))
    schema = answer_schema(LlmVerdict)
    fmt: dict[str, Any] = (
        {"type": "json_object", "schema": schema}
        if config.structured == "json_object"
        else {"type": "json_schema", "json_schema": {"name": "llmverdict", "schema": schema, "strict": True}}
    )

    async def direct() -> None:
        kwargs: dict[str, Any] = {
            "model": config.model,
            "messages": messages,
            "max_tokens": config.max_tokens,
            "temperature": config.temperature,
            "response_format": fmt,
        }
        await raw.chat.completions.create(**kwargs)

    async def graph() -> None:
        await run_analysis(STATE, AgentContext(data=AsOfData(candles=candles, news=news), llm=llm))

    try:
        base = await timed(direct, runs, warmup=1)
        mine = await timed(graph, runs, warmup=1)
    finally:
        await llm.close()
        await raw.close()
    return [
        row(f"baseline: {label}, the prompt sent directly", base, None),
        row(f"analysis graph with {label}", mine, base),
    ]


async def main(runs: int, llm_runs: int, out: Path) -> None:
    from tests.llm_emulator import serve_llm_emulator  # the test emulator, on 127.0.0.1

    started = datetime.now(UTC)
    rows = await without_model(runs)
    async with serve_llm_emulator() as emu:
        cfg = LlmConfig(base_url=emu.base_url, model=emu.model)
        rows += await with_model("the emulator", cfg, runs)
    local_note = ""
    try:
        from worker.llm_local import LocalLlmError, start_local_llm

        server = start_local_llm(0, log_path=Path(".asts/bench-llm.log"))
    except (ImportError, LocalLlmError) as e:
        local_note = f"SmolLM2 rows skipped: {e}"
    else:
        try:
            cfg = LlmConfig(base_url=server.base_url, model=server.model, structured="json_object")
            rows += await with_model("SmolLM2-135M (llama-cpp-python)", cfg, llm_runs)
        finally:
            server.stop()
    lines = [
        machine_line(started),
        "Agent strategy, default parameters: 120 closed hourly bars, 5 news items. *ms over baseline*",
        "is the graph's p50 minus the baseline's p50: what our code adds to each decision.",
        "A model row's baseline is that server answering the very prompt the graph sends.",
        "",
        "| what | runs | p50 ms | p95 ms | p50 vs baseline | ms over baseline |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
    ]
    if local_note:
        lines += ["", local_note]
    print(write_section(out, "Analysis latency (`bench/analysis.py`)", "\n".join(lines)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200, help="runs per figure without a real model")
    parser.add_argument("--llm-runs", type=int, default=20, help="runs per figure with SmolLM2")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.llm_runs, args.out))
