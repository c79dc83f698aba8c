"""What the language model is asked, and the shapes its answers must take."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

SYSTEM = (
    "You are a careful trading analyst. You see one market as of a stated time: a technical "
    "report computed from closed price bars, and the news published before that time, each "
    "with an id like news:12. Use only this data. Answer with one JSON object and nothing else. "
    "Cite your evidence as 'technical', indicator names, or news ids. When the evidence is weak "
    "or conflicting, answer hold."
)


# Length limits are checked after parsing, not put in the schema: a grammar-constrained server
# (llama.cpp) expands "maxLength: 2000" into thousands of grammar rules and refuses the request.
MAX_TEXT = 2000
MAX_EVIDENCE = 12


def _bounded(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    if len(text) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    return text


def _few(items: list[str]) -> list[str]:
    if len(items) > MAX_EVIDENCE:
        raise ValueError(f"must cite at most {MAX_EVIDENCE} items")
    return items


# Grammar-constrained servers enforce keys, types and enums but not number bounds: a small
# model then answers "size": 128967452. The schema sent offers the unit interval in tenths.
TENTHS = [round(i / 10, 1) for i in range(11)]


class LlmVerdict(BaseModel):
    """The reasoner's answer: a call, how sure, what share of the strategy's size, why, and evidence."""

    model_config = ConfigDict(extra="forbid")

    signal: Literal["buy", "sell", "hold"]
    confidence: float = Field(ge=0, le=1)
    size: float = Field(ge=0, le=1)
    rationale: Annotated[str, AfterValidator(_bounded)]
    evidence: Annotated[list[str], AfterValidator(_few)]

    @classmethod
    def llm_schema(cls) -> dict[str, Any]:
        """The JSON schema the model is asked to follow (confidence and size in tenths)."""
        schema = cls.model_json_schema()
        for name in ("confidence", "size"):
            schema["properties"][name]["enum"] = TENTHS
        return schema


class DebatePoint(BaseModel):
    """One side's argument in the bull/bear debate."""

    model_config = ConfigDict(extra="forbid")

    argument: Annotated[str, AfterValidator(_bounded)]
    evidence: Annotated[list[str], AfterValidator(_few)]


def briefing(state: dict[str, Any]) -> str:
    """The data block every prompt starts from: market, as-of time, technical report, news, and
    the custom analysts' reports."""
    tech = state["technical"]
    lines = [
        f"Market: {state['symbol']}. As of: {state['as_of'].isoformat()}.",
        f"Technical report ({tech['bars']} closed bars): {tech['summary']}.",
        "Indicators: " + json.dumps(tech["indicators"], sort_keys=True),
        f"Technical score (-1 sell .. +1 buy): {tech['score']:+.3f}.",
    ]
    news = state.get("news") or {}
    items = news.get("items") or []
    if items:
        lines.append(f"News ({news['summary']}):")
        lines += [
            f"- news:{n['id']} [{n['published_at']}] {n['title']} (sentiment {n['sentiment']:+.2f})"
            for n in items
        ]
    else:
        lines.append("News: none in the window.")
    for r in state.get("analysts") or []:
        if r.get("error"):
            lines.append(f"Analyst {r['name']}: failed ({r['error']}); not counted.")
        else:
            lines.append(
                f"Analyst analyst:{r['name']} (weight {r['weight']:g}): score {r['score']:+.3f}, "
                f"confidence {r['confidence']:.2f}: {r['rationale']}"
            )
    return "\n".join(lines)


def debate_messages(
    state: dict[str, Any], side: Literal["bull", "bear"], transcript: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Ask one side of the debate for its strongest argument, given the debate so far."""
    stance = "for buying (the bull)" if side == "bull" else "against buying, for selling (the bear)"
    so_far = "\n".join(f"{p['side']}: {p['argument']}" for p in transcript) or "(the debate opens)"
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": f"{briefing(state)}\n\nDebate so far:\n{so_far}\n\nArgue {stance} in a few "
            'sentences. JSON: {"argument": str, "evidence": [str]}.',
        },
    ]


def verdict_messages(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Ask for the verdict, with the debate (if any) after the data."""
    debate = state.get("debate") or []
    text = briefing(state)
    if debate:
        text += "\n\nDebate:\n" + "\n".join(f"{p['side']}: {p['argument']}" for p in debate)
    text += (
        "\n\nDecide: buy, sell or hold. JSON: "
        '{"signal": "buy"|"sell"|"hold", "confidence": 0..1, "size": 0..1 (share of the normal '
        'position), "rationale": str, "evidence": [str]}.'
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]


class NewsSentiment(BaseModel):
    """The model's reading of one news item: -1 (very negative) .. 1 (very positive)."""

    model_config = ConfigDict(extra="forbid")

    sentiment: float = Field(ge=-1, le=1)

    @classmethod
    def llm_schema(cls) -> dict[str, Any]:
        """The schema the model follows (tenths from -1 to 1)."""
        schema = cls.model_json_schema()
        schema["properties"]["sentiment"]["enum"] = [round(i / 10, 1) for i in range(-10, 11)]
        return schema


def sentiment_messages(title: str, summary: str, symbols: list[str]) -> list[dict[str, Any]]:
    """Ask for one item's sentiment for the markets it is about."""
    about = ", ".join(symbols) or "the markets it mentions"
    return [
        {
            "role": "system",
            "content": "You rate financial news. Answer with one JSON object and nothing else.",
        },
        {
            "role": "user",
            "content": f"Headline: {title}\nSummary: {summary or '(none)'}\n\nHow good or bad is this for "
            f'{about}? JSON: {{"sentiment": -1..1}} (-1 very bad, 0 neutral, 1 very good).',
        },
    ]
