"""The lexicon sentiment score: sign, negation, intensifiers, bounds, determinism."""

from __future__ import annotations

import random

import pytest

from trading import sentiment
from trading.sentiment import INTENSIFIERS, LEXICON, NEGATORS, contributions, score, tokens


def test_text_without_sentiment_words_scores_zero() -> None:
    assert score("") == 0.0
    assert score("Microsoft to hold its annual developer conference in Seattle") == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "Microsoft beats estimates as cloud revenue surges",
        "S&P 500 rallies to a record",
        "Analysts upgrade Alphabet on strong growth",
    ],
)
def test_good_news_scores_positive(text: str) -> None:
    assert score(text) > 0.3


@pytest.mark.parametrize(
    "text",
    [
        "Microsoft misses estimates as PC sales plunge",
        "Alphabet faces antitrust lawsuit",
        "Recession fears drive a selloff in the euro",
    ],
)
def test_bad_news_scores_negative(text: str) -> None:
    assert score(text) < -0.3


@pytest.mark.parametrize(
    ("negated", "plain"),
    [
        ("Microsoft did not beat estimates", "Microsoft did beat estimates"),
        ("no growth in the euro area", "growth in the euro area"),
        ("Alphabet never missed a quarter", "Alphabet missed a quarter"),
        ("a quarter without losses", "a quarter with losses"),
        ("Shares didn’t fall", "Shares did fall"),
    ],
)
def test_a_negator_within_three_tokens_flips_the_word(negated: str, plain: str) -> None:
    assert score(negated) == pytest.approx(-score(plain))
    assert score(plain) != 0


def test_negation_reaches_three_tokens_back_and_stops_at_a_clause_break() -> None:
    assert [w for _, w in contributions("not a very big gain")] == [1.0]  # four tokens back: no flip
    assert [w for _, w in contributions("not a big gain")] == [-1.0]
    assert [w for _, w in contributions("no doubt, profits rose")] == [1.0, 1.0]


def test_intensifiers_before_or_after_strengthen_the_word() -> None:
    assert dict(contributions("shares fell")) == {"fell": -1.0}
    assert dict(contributions("shares fell sharply")) == {"fell": -1.5}
    assert dict(contributions("a sharp drop")) == {"drop": -1.5}
    assert score("shares fell sharply") < score("shares fell") < 0


def test_numbers_do_not_break_a_clause() -> None:
    assert tokens("rose 1.4% today") == ["rose", "1.4", "today"]
    assert dict(contributions("not up 1.4% but down")) == {"up": -0.5, "down": -0.5}


def test_more_one_sided_evidence_moves_the_score_towards_the_bound() -> None:
    one, two, many = score("gains"), score("gains gains"), score("gains " * 50)
    assert 0 < one < two < many < 1
    assert many == pytest.approx(50 / 52)
    assert score("gains losses") == 0


def test_the_score_is_bounded_and_deterministic_on_random_text() -> None:
    rng = random.Random(7)
    vocab = [*LEXICON, *NEGATORS, *INTENSIFIERS, "the", "euro", ".", ",", "Microsoft"]
    for _ in range(500):
        text = " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40)))
        value = score(text)
        assert -1 < value < 1
        assert value == score(text)


def test_the_word_lists_do_not_overlap() -> None:
    assert not set(sentiment._POSITIVE) & set(sentiment._NEGATIVE)
    assert not (NEGATORS | INTENSIFIERS) & set(LEXICON)
