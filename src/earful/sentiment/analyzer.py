"""Sentiment: VADER 3.3.2 (via the faithful ``vader_fast`` port), tuned for customer-service talk.

Two scores per text, so the adjustment is visible and reversible:

* ``score_raw(text)`` / ``SentimentScore.raw_compound``: stock VADER, exactly
  ``vaderSentiment`` 3.3.2 ``polarity_scores`` on texts up to ``LONG_TEXT_CHARS``.
* ``score(text, ...)``: Earful's adjusted score — the text prepared by ``sentiment_prep``
  (links, @handles and brand names removed, emoji normalised, phrases joined), scored with
  VADER's lexicon plus Earful's service lexicon plus the admin's ``sentiment.lexicon`` (negative
  valences weighted by ``negative_weight``), then weak positives pulled to neutral
  (``positive_band``), turned negative when a sarcasm hashtag says so (``#sarcasm``, ``#not``),
  then combined with a review's star rating when there is one.

**Long texts** (over ``LONG_TEXT_CHARS`` characters) are cut into chunks of at most
``CHUNK_CHARS`` (tweet-to-paragraph size, where VADER is calibrated), each cut after a sentence
end (``. ! ? …`` or a line break) in the second half of the window, else at a space, else hard.
Each chunk is prepared and scored on its own; neg/neu/pos and compound are the means over the
chunks weighted by chunk length (VADER's own advice for paragraphs is a per-sentence mean; the
weighting keeps a one-word chunk from counting like a paragraph). Chunk sizes count
UTF-8 bytes, so an emoji (4 bytes, two or three words for VADER) counts like a short word.
A text up to ``MAX_CHUNKS * CHUNK_CHARS`` bytes is scored whole; a longer one through
``MAX_CHUNKS`` windows at evenly spaced offsets (first and last included) — a systematic
sample. So the work per text is bounded (about 6,400 bytes go through VADER) whatever the
input; the package itself is quadratic on long texts (a 76 KB post takes ~20 s).

**Ratings.** With a star rating r on a scale rating_min..rating_max, the rating signal is
``(r - mid) / half_range`` in -1..+1 and ``compound = w * signal + (1 - w) * text_compound``,
``w = SentimentConfig.rating_weight`` (0.6): a 1-star review is negative (at most -0.2) and a
5-star review positive whatever its text, a 3-star review follows its text at 40% strength.
neg/neu/pos stay the text's proportions.

Labels: compound >= 0.05 positive, <= -0.05 negative, otherwise neutral.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from earful.config.sentiment import SentimentConfig
from earful.sentiment.prep import TextPrep, build_lexicon
from earful.sentiment.vader_fast import FastVader, load_stock_lexicons

logger = logging.getLogger(__name__)

LONG_TEXT_CHARS = 2_000
CHUNK_CHARS = 400
MAX_CHUNKS = 16
POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05

_SENTENCE_MARKS = (". ", "! ", "? ", "… ", "\n")


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
    """Chunks to score: ``[text]`` when short, else at most ``MAX_CHUNKS`` (see module doc).

    Up to ``MAX_CHUNKS * CHUNK_CHARS`` bytes of UTF-8 the chunks tile the whole text; beyond, they
    are windows at evenly spaced offsets (the first at 0, the last ending at the end). Only the
    chosen windows are ever looked at, so the cost does not grow with the text.
    """
    n = len(text)
    if n <= LONG_TEXT_CHARS:
        return [text]
    chunks: list[str] = []
    if _utf8_size(text) <= MAX_CHUNKS * CHUNK_CHARS:
        start = 0
        while start < n:
            end = _chunk_end(text, start)
            chunks.append(text[start:end])
            start = end
    else:
        step = (n - CHUNK_CHARS) / (MAX_CHUNKS - 1)
        for k in range(MAX_CHUNKS):
            start = _word_start(text, round(k * step))
            chunks.append(text[start : _chunk_end(text, start)])
    return [c for c in chunks if c.strip()] or [text[:CHUNK_CHARS]]


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _chunk_end(text: str, start: int) -> int:
    # A window holds CHUNK_CHARS bytes of UTF-8, not characters: an emoji (4 bytes) becomes
    # two or three words for VADER, so emoji-dense windows are shorter. The cut falls after the
    # last sentence end in the window's second half, else at its last space, else hard.
    size = CHUNK_CHARS
    dense = _utf8_size(text[start : start + size])
    if dense > size:
        size = max(size * size // dense, 16)
    end = start + size
    if end >= len(text):
        return len(text)
    half = start + size // 2
    cut = max(text.rfind(mark, half, end) for mark in _SENTENCE_MARKS)
    if cut >= 0:
        return cut + 1
    space = text.rfind(" ", half, end)
    return space if space > 0 else end


def _word_start(text: str, at: int) -> int:
    # a sampled window starts at a word: just after the next space, if one is near
    if at == 0 or text[at - 1].isspace():
        return at
    space = text.find(" ", at, at + 40)
    return space + 1 if space >= 0 else at


def score_chunks(
    vader: FastVader, chunks: Sequence[str], weights: Sequence[int]
) -> dict[str, float]:
    """VADER scores of one chunk, or the ``weights``-weighted means over several."""
    return mean_scores([vader.polarity_scores(c) for c in chunks], weights)


def mean_scores(parts: Sequence[dict[str, float]], weights: Sequence[int]) -> dict[str, float]:
    """One chunk's scores as they are, or the ``weights``-weighted means of several."""
    if len(parts) == 1:
        return parts[0]
    totals = {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
    for scores, w in zip(parts, weights, strict=True):
        for key in totals:
            totals[key] += scores[key] * w
    weight = sum(weights) or 1
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
        # emoji scored by the lexicon (set apart by preparation) must reach it as themselves,
        # not as their descriptions
        padded = set(emoji)
        emojis = {k: v for k, v in stock_emojis.items() if k not in padded}
        self._vader = FastVader(lexicon, emojis)
        self._prep = TextPrep(self.config, phrases, emoji)
        self._sarcastic: FastVader | None = None

    def _sarcastic_vader(self) -> FastVader:
        # the same analyzer with every positive valence turned negative, built when first needed
        if self._sarcastic is None:
            lexicon = {k: -v if v > 0 else v for k, v in self._vader.lexicon.items()}
            self._sarcastic = FastVader(lexicon, self._vader.emojis)
        return self._sarcastic

    def prepare(self, text: str, names: Sequence[str] = ()) -> str:
        """The text as VADER reads it after Earful's preparation (for debugging and tests)."""
        return self._prep.prepare(text, (*self.names, *names))

    def score_raw(self, text: str) -> dict[str, float]:
        """Stock VADER 3.3.2 ``polarity_scores`` (long texts: chunked as in the module doc)."""
        chunks = split_for_scoring(text)
        return score_chunks(self._stock, chunks, [len(c) for c in chunks])

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
        chunks = split_for_scoring(join_title(title, text))
        all_names = (*self.names, *names) if names else self.names
        raw_parts: list[dict[str, float]] = []
        parts: list[dict[str, float]] = []
        # long texts are prepared chunk by chunk: the cost stays bounded by the chunks scored
        for chunk in chunks:
            tokens = self._stock.tokenize(chunk)
            raw_parts.append(self._stock.score_tokens(*tokens))
            prepared = self._prep.prepare(chunk, all_names)
            # Unchanged text tokenizes the same for both: the emoji the two analyzers describe
            # differently are exactly those preparation pads with spaces, which changes the text.
            if prepared != chunk:
                tokens = self._vader.tokenize(prepared)
            parts.append(self._vader.score_tokens(*tokens))
        weights = [len(c) for c in chunks]
        raw = mean_scores(raw_parts, weights)
        scores = mean_scores(parts, weights)
        compound = apply_positive_band(scores["compound"], self.config.positive_band)
        neg, pos = scores["neg"], scores["pos"]
        if pos > 0 and self._prep.is_sarcastic(text if title is None else f"{title} {text}"):
            # "#sarcasm": the positive words mean the opposite of what they say
            sarcastic = self._sarcastic_vader()
            flipped = mean_scores(
                [sarcastic.polarity_scores(self._prep.prepare(c, all_names)) for c in chunks],
                weights,
            )
            candidate = min(flipped["compound"], -compound)
            if candidate < compound:
                compound, neg, pos = candidate, flipped["neg"], flipped["pos"]
        compound = combine_rating(
            compound,
            rating,
            rating_min=rating_min,
            rating_max=rating_max,
            weight=self.config.rating_weight,
        )
        return SentimentScore(
            neg=neg,
            neu=scores["neu"],
            pos=pos,
            compound=compound,
            label=label_for(compound),
            raw_compound=raw["compound"],
        )


def join_title(title: str | None, text: str) -> str:
    """Title and text as one text; the title reads as its own sentence.

    A title that is just the start of the text (feeds often cut the text into a title) is read
    once, not twice.
    """
    if not title or not title.strip():
        return text
    title = title.strip()
    if not text.strip():
        return title
    lead = title.rstrip(" .…")
    if lead and text.lstrip().startswith(lead):
        return text
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
