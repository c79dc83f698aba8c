"""A deterministic lexicon sentiment score for financial headlines, in [-1, 1].

The rule, in full:

1. The text is lower-cased and split into word tokens (letters, digits, inner ``'``
   and ``-``; numbers such as ``1.4``) and clause breaks (``. , ; : ! ?``).
2. Each word found in ``LEXICON`` contributes its weight: positive words a positive
   weight, negative words a negative one (0.5 for mild words, 1.0 for most, 1.5–2.0 for strong ones).
3. A contribution is multiplied by ``INTENSITY`` (1.5) when the token just before or
   just after the word is an intensifier ("sharply", "strongly", ...): "sharp drop",
   "fell sharply".
4. Its sign flips when a negator ("not", "no", "never", "without", "n't" forms) is among
   the ``NEGATION_WINDOW`` (3) tokens before it, unless a clause break lies in between.
5. With ``pos`` the sum of positive contributions and ``neg`` the sum of the magnitudes
   of the negative ones, the score is ``(pos - neg) / (pos + neg + K)`` with ``K = 2``:
   0 for text without sentiment words, strictly inside (-1, 1) always, and closer to
   ±1 the more one-sided evidence there is.

The word list is our own, written for company, index and currency news.
"""

from __future__ import annotations

import re

NEGATION_WINDOW = 3
INTENSITY = 1.5
K = 2.0

NEGATORS = frozenset(
    {"not", "no", "never", "without", "nor", "cannot", "didn't", "doesn't", "don't", "isn't", "wasn't"}
    | {"aren't", "weren't", "won't", "hasn't", "haven't", "hadn't", "fails", "failed", "unlikely"}
)
INTENSIFIERS = frozenset(
    {"sharply", "strongly", "significantly", "substantially", "very", "deeply", "steeply", "sharp"}
    | {"massive", "huge", "heavily", "dramatically", "extremely"}
)


def _weigh(weight: float, words: str) -> dict[str, float]:
    """Each of the space-separated ``words`` with ``weight``."""
    return dict.fromkeys(words.split(), weight)


_POSITIVE: dict[str, float] = {
    **_weigh(2.0, "breakthrough bullish stellar blowout soar soars soared"),
    **_weigh(1.5, "surge surges surged jump jumps jumped upgrade upgrades upgraded record"),
    **_weigh(1.5, "outperform outperforms outperformed"),
    **_weigh(1.0, "beat beats tops topped exceeds exceeded rally rallies rallied rebound rebounds"),
    **_weigh(1.0, "rebounded gain gains gained rise rises rose climb climbs climbed advance advances"),
    **_weigh(1.0, "advanced growth grows grew expand expands expansion profit profits profitable"),
    **_weigh(1.0, "raise raises raised boost boosts boosted lift lifts lifted optimism optimistic"),
    **_weigh(1.0, "robust strength strengthens strengthened improve improves improved improvement"),
    **_weigh(1.0, "recovery recovers recovered win wins won approval approves approved dividend"),
    **_weigh(1.0, "buyback upbeat"),
    **_weigh(0.5, "higher up strong stronger solid firm confidence"),
}
_NEGATIVE: dict[str, float] = {
    **_weigh(2.0, "bankruptcy fraud scandal collapse collapses collapsed crisis plunge plunges"),
    **_weigh(2.0, "plunged crash crashes crashed"),
    **_weigh(1.5, "tumble tumbles tumbled sink sinks sank downgrade downgrades downgraded recession"),
    **_weigh(1.5, "default defaults bearish lawsuit lawsuits antitrust"),
    **_weigh(1.0, "miss misses missed shortfall fall falls fell drop drops dropped decline declines"),
    **_weigh(1.0, "declined slide slides slid slump slumps slumped loss losses lose loses lost cut"),
    **_weigh(1.0, "cuts sued sues probe investigation scrutiny fined penalty recall layoffs layoff"),
    **_weigh(1.0, "warning warns warned concern concerns fear fears worry worries slowdown"),
    **_weigh(1.0, "contraction weakness weaken weakens weakened pressure selloff sell-off outage"),
    **_weigh(1.0, "breach delay delays delayed disappointing"),
    **_weigh(0.5, "lower down weak weaker risk risks uncertainty volatile volatility"),
}
LEXICON: dict[str, float] = {**_POSITIVE, **{w: -v for w, v in _NEGATIVE.items()}}

# Numbers first, so the point in "1.4%" is not a clause break.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[a-z0-9]+(?:['’\-][a-z0-9]+)*|[.,;:!?]")
_BREAKS = frozenset(".,;:!?")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens and clause breaks of ``text`` (typographic apostrophes made plain)."""
    return [t.replace("’", "'") for t in _TOKEN.findall(text.lower())]


def _negated(toks: list[str], i: int) -> bool:
    """True when a negator stands within the window before token ``i`` in the same clause."""
    for j in range(i - 1, max(-1, i - 1 - NEGATION_WINDOW), -1):
        if toks[j] in _BREAKS:
            return False
        if toks[j] in NEGATORS:
            return True
    return False


def contributions(text: str) -> list[tuple[str, float]]:
    """Each sentiment word of ``text`` with its signed contribution (after intensity and negation)."""
    toks = tokens(text)
    out: list[tuple[str, float]] = []
    for i, tok in enumerate(toks):
        weight = LEXICON.get(tok)
        if weight is None:
            continue
        if (i > 0 and toks[i - 1] in INTENSIFIERS) or (i + 1 < len(toks) and toks[i + 1] in INTENSIFIERS):
            weight *= INTENSITY
        if _negated(toks, i):
            weight = -weight
        out.append((tok, weight))
    return out


def score(text: str) -> float:
    """Sentiment of ``text`` in (-1, 1): ``(pos - neg) / (pos + neg + K)``; 0 without sentiment words."""
    parts = [w for _, w in contributions(text)]
    pos = sum(w for w in parts if w > 0)
    neg = -sum(w for w in parts if w < 0)
    return (pos - neg) / (pos + neg + K)
