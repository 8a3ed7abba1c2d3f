"""Sentiment: VADER 3.3.2 (via the faithful ``vader_fast`` port), tuned for customer-service talk.

Two scores per text, so the adjustment is visible and reversible:

* ``score_raw(text)`` / ``SentimentScore.raw_compound``: stock VADER, exactly
  ``vaderSentiment`` 3.3.2 ``polarity_scores`` on texts up to ``LONG_TEXT_CHARS``.
* ``score(text, ...)``: Earful's adjusted score — the text prepared by ``sentiment_prep``
  (links, @handles and brand names removed, emoji normalised, phrases joined), scored with
  VADER's lexicon plus Earful's service lexicon plus the admin's ``sentiment.lexicon`` (negative
  valences weighted by ``negative_weight``), then weak positives pulled to neutral
  (``positive_band``), then combined with a review's star rating when there is one.

**Long texts** (over ``LONG_TEXT_CHARS`` characters) are split at sentence ends (``.!?…`` or a
line break) into chunks of at most ``CHUNK_CHARS`` (an over-long sentence is cut at a space, or
hard when there is none). Each chunk is scored by VADER; neg/neu/pos and compound are the means
over chunks weighted by chunk length. At most ``MAX_CHUNKS`` chunks are scored: beyond that an
evenly spaced sample (always the first and the last) stands for the text. The cost is thus
bounded (VADER work on at most ~``MAX_CHUNKS * CHUNK_CHARS`` characters plus linear-time
regex passes), whatever the input — the package itself is quadratic on long texts.

**Ratings.** With a star rating r on a scale rating_min..rating_max, the rating signal is
``(r - mid) / half_range`` in -1..+1 and ``compound = w * signal + (1 - w) * text_compound``,
``w = SentimentConfig.rating_weight`` (0.6): a 1-star review is negative (at most -0.2) and a
5-star review positive whatever its text, a 3-star review follows its text at 40% strength.
neg/neu/pos stay the text's proportions.

Labels: compound >= 0.05 positive, <= -0.05 negative, otherwise neutral.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from earful.config_sections.sentiment import SentimentConfig
from earful.sentiment_prep import TextPrep, build_lexicon
from earful.vader_fast import FastVader, load_stock_lexicons

logger = logging.getLogger(__name__)

LONG_TEXT_CHARS = 2_000
CHUNK_CHARS = 400
MAX_CHUNKS = 24
POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n\s*")


@dataclass(frozen=True)
class SentimentScore:
    """One text's sentiment: VADER proportions, Earful's compound and label, stock compound."""

    neg: float
    neu: float
    pos: float
    compound: float
    label: str
    raw_compound: float

    def as_dict(self) -> dict[str, float | str]:
        return {
            "neg": self.neg,
            "neu": self.neu,
            "pos": self.pos,
            "compound": self.compound,
            "label": self.label,
            "raw_compound": self.raw_compound,
        }


def label_for(compound: float) -> str:
    """``positive`` at >= 0.05, ``negative`` at <= -0.05, else ``neutral`` (VADER's convention)."""
    if compound >= POSITIVE_AT:
        return "positive"
    if compound <= NEGATIVE_AT:
        return "negative"
    return "neutral"


def split_for_scoring(text: str) -> list[str]:
    """Chunks to score: ``[text]`` when short, else sentence-packed chunks (see module doc)."""
    if len(text) <= LONG_TEXT_CHARS:
        return [text]
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for sentence in _SENTENCE_END.split(text):
        for piece in _cut_long(sentence):
            if size and size + len(piece) + 1 > CHUNK_CHARS:
                chunks.append(" ".join(current))
                current, size = [], 0
            current.append(piece)
            size += len(piece) + 1
    if current:
        chunks.append(" ".join(current))
    return [c for c in chunks if c.strip()] or [text[:CHUNK_CHARS]]


def _cut_long(sentence: str) -> list[str]:
    if len(sentence) <= CHUNK_CHARS:
        return [sentence]
    pieces: list[str] = []
    start = 0
    while len(sentence) - start > CHUNK_CHARS:
        end = sentence.rfind(" ", start + CHUNK_CHARS // 2, start + CHUNK_CHARS)
        if end <= start:
            end = start + CHUNK_CHARS
        pieces.append(sentence[start:end])
        start = end
    pieces.append(sentence[start:])
    return pieces


def sample_chunks(chunks: list[str], limit: int = MAX_CHUNKS) -> list[str]:
    """At most ``limit`` chunks, evenly spaced, always including the first and the last."""
    if len(chunks) <= limit:
        return chunks
    step = (len(chunks) - 1) / (limit - 1)
    return [chunks[round(k * step)] for k in range(limit)]


def score_chunked(vader: FastVader, text: str) -> dict[str, float]:
    """VADER scores of ``text``; exactly VADER's when short, length-weighted chunk means if long."""
    chunks = split_for_scoring(text)
    if len(chunks) == 1:
        return vader.polarity_scores(chunks[0])
    chunks = sample_chunks(chunks)
    totals = {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
    weight = 0
    for chunk in chunks:
        scores = vader.polarity_scores(chunk)
        w = len(chunk)
        weight += w
        for key in totals:
            totals[key] += scores[key] * w
    return {
        key: round(value / weight, 4 if key == "compound" else 3) for key, value in totals.items()
    }


def combine_rating(
    text_compound: float,
    rating: float | None,
    *,
    rating_min: float = 1.0,
    rating_max: float = 5.0,
    weight: float = 0.6,
) -> float:
    """The compound of a text with its author's star rating (see the module docstring)."""
    if rating is None or rating_max <= rating_min:
        return text_compound
    mid = (rating_max + rating_min) / 2
    half = (rating_max - rating_min) / 2
    signal = max(-1.0, min(1.0, (rating - mid) / half))
    return round(weight * signal + (1 - weight) * text_compound, 4)


def apply_positive_band(compound: float, band: float) -> float:
    """Pull compounds in 0..band to 0 and rescale higher ones continuously onto 0..1."""
    if band <= 0 or compound <= 0:
        return compound
    if compound < band:
        return 0.0
    return round((compound - band) / (1 - band), 4)


class _Lexicons:
    """The package's lexicons, read once per process, and the stock analyzer built on them."""

    _lock = threading.Lock()
    _loaded: tuple[dict[str, float], dict[str, str], FastVader] | None = None

    @classmethod
    def get(cls) -> tuple[dict[str, float], dict[str, str], FastVader]:
        with cls._lock:
            if cls._loaded is None:
                lexicon, emojis = load_stock_lexicons()
                cls._loaded = (lexicon, emojis, FastVader(lexicon, emojis))
            return cls._loaded


class SentimentAnalyzer:
    """Earful's scorer for one sentiment config and a fixed set of names to mask."""

    def __init__(self, config: SentimentConfig | None = None, names: Sequence[str] = ()) -> None:
        self.config = config or SentimentConfig()
        self.names = tuple(names)
        stock_lexicon, stock_emojis, self._stock = _Lexicons.get()
        lexicon, phrases, emoji = build_lexicon(stock_lexicon, self.config)
        # emoji scored by the lexicon must reach it as themselves, not as their descriptions
        emojis = {k: v for k, v in stock_emojis.items() if k not in lexicon}
        self._vader = FastVader(lexicon, emojis)
        self._prep = TextPrep(self.config, phrases, emoji)

    def prepare(self, text: str, names: Sequence[str] = ()) -> str:
        """The text as VADER reads it after Earful's preparation (for debugging and tests)."""
        return self._prep.prepare(text, (*self.names, *names))

    def score_raw(self, text: str) -> dict[str, float]:
        """Stock VADER 3.3.2 ``polarity_scores`` (long texts: chunked as in the module doc)."""
        return score_chunked(self._stock, text)

    def score(
        self,
        text: str,
        *,
        title: str | None = None,
        rating: float | None = None,
        rating_max: float = 5.0,
        rating_min: float = 1.0,
        names: Sequence[str] = (),
    ) -> SentimentScore:
        """Earful's adjusted score of a mention (title and text read together, title first)."""
        full = join_title(title, text)
        raw = score_chunked(self._stock, full)
        scores = score_chunked(self._vader, self.prepare(full, names))
        compound = apply_positive_band(scores["compound"], self.config.positive_band)
        compound = combine_rating(
            compound,
            rating,
            rating_min=rating_min,
            rating_max=rating_max,
            weight=self.config.rating_weight,
        )
        return SentimentScore(
            neg=scores["neg"],
            neu=scores["neu"],
            pos=scores["pos"],
            compound=compound,
            label=label_for(compound),
            raw_compound=raw["compound"],
        )


def join_title(title: str | None, text: str) -> str:
    """Title and text as one text; the title reads as its own sentence."""
    if not title or not title.strip():
        return text
    title = title.strip()
    if not text.strip():
        return title
    sep = "\n" if title[-1] in ".!?…" else ".\n"
    return f"{title}{sep}{text}"


_cache: dict[tuple[str, tuple[str, ...]], SentimentAnalyzer] = {}
_cache_lock = threading.Lock()


def get_analyzer(
    config: SentimentConfig | None = None, names: Sequence[str] = ()
) -> SentimentAnalyzer:
    """A process-wide analyzer per (config, names); VADER's lexicons are loaded once."""
    key = ((config or SentimentConfig()).model_dump_json(), tuple(names))
    with _cache_lock:
        analyzer = _cache.get(key)
        if analyzer is None:
            analyzer = _cache[key] = SentimentAnalyzer(config, names)
        return analyzer
