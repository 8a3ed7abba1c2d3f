"""The phrase and name regexes group their alternatives by first character for speed; they must
find exactly what the plain longest-first alternation finds."""

from __future__ import annotations

import random
import re

from earful.config.sentiment import SentimentConfig
from earful.sentiment.prep import (
    _first_chars,
    _flat_pattern,
    _join_phrase,
    _names_regex,
    _words_pattern,
    build_lexicon,
)
from earful.sentiment.vader_fast import load_stock_lexicons
from tests.conftest import shared_path

NAMES = ["United Airlines", "United", "Delta", "Acme Bank", "Acme", "7-Eleven", "AT&T", "Hooli"]


def _phrases() -> list[str]:
    stock, _ = load_stock_lexicons()
    cfg = SentimentConfig(lexicon={"no no no": -2.0, "on  HOLD again": -1.5, "ok ok": 0.5})
    return build_lexicon(stock, cfg)[1]


def _flat(terms: list[str]) -> str:
    return _flat_pattern(sorted({t for t in terms if t.strip()}, key=len, reverse=True))


def _texts(terms: list[str], seed: int) -> list[str]:
    # words of the terms and whole terms (overlapping ones too), in any case, glued or
    # separated by spaces, punctuation, handles' and hashtags' marks
    rng = random.Random(seed)
    seps = [" ", "  ", "\n", "\t", "'", "-", "!", ",", "@", "#", "_", "", ". "]
    words = [w for t in terms for w in t.split()] + ["x", "ok", "nothing", "7", "bank"]
    out = []
    for _ in range(4_000):
        parts = []
        for _ in range(rng.randint(1, 14)):
            if rng.random() < 0.3:
                w = rng.choice([" ", "  ", "\n"]).join(rng.choice(terms).split())
            else:
                w = rng.choice(words)
            w = rng.choice([w, w.upper(), w.title(), w.lower()])
            parts.append(w + rng.choice(seps))
        out.append("".join(parts))
    return out


def _real_texts() -> list[str]:
    path = shared_path("data", "sentiment", "tweeteval_sentiment", "val_text.txt")
    return path.read_text("utf-8").splitlines()


def test_phrase_regex_equals_the_plain_alternation() -> None:
    phrases = _phrases()
    flags = re.IGNORECASE
    head = _first_chars(phrases)
    grouped = re.compile(rf"{head}(?<![\w'])(?:{_words_pattern(phrases)})(?![\w'])", flags)
    plain = re.compile(rf"{head}(?<![\w'])(?:{_flat(phrases)})(?![\w'])", flags)
    assert grouped.pattern != plain.pattern
    joined = 0
    for text in _texts(phrases, 1) + _real_texts():
        got = grouped.sub(_join_phrase, text)
        assert got == plain.sub(_join_phrase, text), text
        joined += got != text
    assert joined > 1_000


def test_name_regex_equals_the_plain_alternation() -> None:
    names = tuple(NAMES)
    grouped = _names_regex(names)
    assert grouped is not None
    cleaned = [n.strip().lstrip("@#").strip() for n in names]
    plain = re.compile(
        rf"{_first_chars([*cleaned, '@', '#'])}(?<!\w)[@#]?(?:{_flat(cleaned)})(?!\w)",
        re.IGNORECASE,
    )
    masked = 0
    for text in _texts(NAMES, 2) + _real_texts():
        got = grouped.sub(" ", text)
        assert got == plain.sub(" ", text), text
        masked += got != text
    assert masked > 1_000


def test_non_ascii_first_characters_keep_the_plain_alternation() -> None:
    terms = ["été pourri", "ok ok", "étrange"]
    assert _words_pattern(terms) == _flat(terms)
