"""``earful.sentiment.vader_fast`` is vaderSentiment 3.3.2, only faster: same scores on every text.

Checked on every text of ../shared/data/sentiment (ICWSM-2014 sets and TweetEval test/val,
~38,000 texts) and on a randomized corpus built to hit every rule: negations, "no", boosters,
ALL CAPS, "but", "kind of", "least", idioms, emoji (with selectors and joiners), punctuation.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

from earful.sentiment.analyzer import get_analyzer
from earful.sentiment.vader_fast import FastVader, load_stock_lexicons
from tests.conftest import shared_path

STOCK = SentimentIntensityAnalyzer()
LEXICON, EMOJIS = load_stock_lexicons()
FAST = FastVader(LEXICON, EMOJIS)


def shared_texts() -> Iterator[tuple[str, str]]:
    root = shared_path("data", "sentiment")
    for path in sorted((root / "vader_icwsm2014").glob("*_GroundTruth.txt")):
        for line in path.read_text(encoding="utf-8-sig").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                yield path.name, parts[2]
    for split in ("test", "val"):
        path = root / "tweeteval_sentiment" / f"{split}_text.txt"
        for line in path.read_text(encoding="utf-8").splitlines():
            yield path.name, line


def test_same_scores_on_every_shared_text() -> None:
    count = 0
    for name, text in shared_texts():
        assert FAST.polarity_scores(text) == STOCK.polarity_scores(text), (name, text)
        count += 1
    assert count > 35_000


def random_corpus(n: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    words = [
        *sorted(LEXICON)[::7],
        *BOOSTER_DICT,
        *NEGATE,
        *(w for phrase in SPECIAL_CASES for w in phrase.split()),
        *["but", "BUT", "But", "no", "No", "kind", "of", "least", "at", "very", "never"],
        *["so", "this", "without", "doubt", "or", "nor", "the", "flight", "I", "it", "Isn't"],
    ]
    emoji = [*sorted(EMOJIS)[::9], "\ufe0f", "\u200d", "\U0001f3fd", "\ue000"]
    punct = ["!", "?", "!!!", "???", ".", ",", ":)", ":(", ":-(", "...", "'", '"', "(", ")"]
    spaces = [" ", " ", " ", "", "\t", "\n", "  ", "\u00a0"]
    for _ in range(n):
        parts: list[str] = []
        for _ in range(rng.randint(0, 40)):
            r = rng.random()
            if r < 0.65:
                word = rng.choice(words)
                c = rng.random()
                word = word.upper() if c < 0.15 else word.capitalize() if c < 0.25 else word
            elif r < 0.8:
                word = rng.choice(emoji)
            else:
                word = rng.choice(punct)
            parts.append(word)
            parts.append(rng.choice(spaces))
        yield "".join(parts)


def test_same_scores_on_a_randomized_corpus() -> None:
    for text in random_corpus(20_000, seed=20260122):
        assert FAST.polarity_scores(text) == STOCK.polarity_scores(text), repr(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😀😀 x😀 😀",
        "\ue000😀 marker",
        "good but good but bad good",
        "bad good bad GOOD but good bad good",
        "no no no good",
        "at least not the least bad",
        "kind of good, sort of bad",
        "never so good, without doubt excellent",
        "the shit! yeah right. bus stop. kiss of death",
        "GREAT great Great gReAt",
        "?!?!?!?!",
    ],
)
def test_same_scores_on_edge_cases(text: str) -> None:
    assert FAST.polarity_scores(text) == STOCK.polarity_scores(text)


def test_score_raw_equals_vader_on_all_icwsm_tweets() -> None:
    path = shared_path("data", "sentiment", "vader_icwsm2014", "tweets_GroundTruth.txt")
    analyzer = get_analyzer()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4200
    for line in lines:
        text = line.split("\t")[2]
        assert analyzer.score_raw(text) == STOCK.polarity_scores(text), text
        assert analyzer.score(text).raw_compound == STOCK.polarity_scores(text)["compound"]


def test_adjusted_path_shares_tokens_faithfully() -> None:
    """With every adjustment off Earful is stock VADER; raw_compound always is."""
    from earful.config.sentiment import SentimentConfig
    from earful.sentiment.analyzer import SentimentAnalyzer

    plain = SentimentAnalyzer(
        SentimentConfig(
            domain_lexicon=False,
            strip_urls=False,
            strip_handles=False,
            mask_names=False,
            normalize_emoji=False,
            decode_escapes=False,
            like_as_verb_only=False,
            sarcasm_tags=[],
            rating_weight=0.0,
            negative_weight=1.0,
            positive_band=0.0,
        )
    )
    tuned = get_analyzer(names=("United",))
    for text in random_corpus(3_000, seed=7):
        expected = STOCK.polarity_scores(text)
        score = plain.score(text)
        assert [score.neg, score.neu, score.pos, score.compound] == [
            expected["neg"],
            expected["neu"],
            expected["pos"],
            expected["compound"],
        ], repr(text)
        assert tuned.score(text).raw_compound == expected["compound"], repr(text)
