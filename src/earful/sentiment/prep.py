"""Text preparation before VADER, and the lexicon Earful layers over VADER's.

``TextPrep.prepare(text, names)`` applies, in this order, each step switchable in
``SentimentConfig``:

1. ``normalize_emoji``: drop U+FE0E/U+FE0F variation selectors, skin-tone modifiers
   (U+1F3FB..U+1F3FF) and zero-width joiners; curly apostrophes become ``'``. VADER's emoji
   table is keyed by bare code points, so "I ❤️ this" scored 0 while "I ❤ this" scored +0.64.
2. ``strip_urls``: links are removed (their words are not the author's sentiment).
3. ``strip_handles``: ``@handles`` are removed (``@united`` would read as "united" +1.8).
   ``split_hashtags``: ``#WorstAirlineEver`` becomes "Worst Airline Ever".
4. ``mask_names``: brand/competitor names and aliases are removed wherever they stand as whole
   words (also as ``#name``), case-insensitively — so "United Breaks Guitars" is not positive
   because of "united", and a score never depends on which brand is named.
5. Phrases of the lexicon ("on hold", "never again", "thanks for nothing") become one token by
   joining their words with ``_``, keeping the author's case ("ON_HOLD" still shouts).
6. Emoji that the lexicon scores directly (😡 🤬 👍 ...) are set apart by spaces, so each is a
   token of its own.

Case, punctuation and all other emoji are kept: VADER reads caps, "!!!" and emoji.
Removed spans become one space, so no two words are glued together.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from earful.config.sentiment import SentimentConfig

logger = logging.getLogger(__name__)

_URL = re.compile(r"(?:\bhttps?://|\bwww\.)\S+", re.IGNORECASE)
# @user, @user@instance.social (Mastodon), @name.bsky.social (Bluesky)
_HANDLE = re.compile(r"(?<![\w@])@\w+(?:[.@][\w-]+)*")
_EMOJI_NORMALIZE = {
    0xFE0E: None,
    0xFE0F: None,
    0x200D: None,
    **{cp: None for cp in range(0x1F3FB, 0x1F400)},
    0x2019: "'",  # right single quotation mark, the usual typed apostrophe
    0x2018: "'",
    0x02BC: "'",
}
# "like" is +1.5 in VADER but is mostly a preposition or filler ("looks like rain", "like 3 hours
# on hold"). It keeps its valence only as a verb: after a subject, an auxiliary or an adverb.
_LIKE = re.compile(r"(?<![\w'])(?:([\w']+)\s+)?(like)\b", re.IGNORECASE)
_LIKE_VERB_WORDS = """i we you they u ya ppl people who do does did don't dont didn't didnt doesn't
doesnt will won't wont can cant can't might may should must to really also totally actually
definitely always never still not kinda truly genuinely honestly seriously especially absolutely"""
_LIKE_VERB_CONTEXT = frozenset(_LIKE_VERB_WORDS.split())
# #WorstAirlineEver -> "Worst Airline Ever": camel-case hashtags hold words VADER knows
_CAMEL_TAG = re.compile(
    r"(?<![\w#])#((?:[A-Z][a-z]+|[A-Z]+(?=[A-Z][a-z])|[a-z]+)(?:[A-Z][a-z]+|[A-Z]+\b|\d+)+)"
)
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
# JSON text escaped twice arrives with literal "\u2019" or "\u002c" in it
_LITERAL_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_MASK_CHARS = (
    "\ufe0e\ufe0f\u200d\u2019\u2018\u02bc\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff"
)


@dataclass(frozen=True)
class LexiconEntry:
    """One line of the service lexicon: the term, its valence and why it has that value."""

    term: str
    valence: float
    why: str


def load_service_lexicon() -> list[LexiconEntry]:
    """Earful's customer-service lexicon (``data/service_lexicon.tsv``), in file order."""
    text = (
        resources.files("earful.sentiment")
        .joinpath("data", "service_lexicon.tsv")
        .read_text("utf-8")
    )
    entries: list[LexiconEntry] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("term\t"):
            continue
        term, valence, why = line.split("\t", 2)
        entries.append(LexiconEntry(term.strip(), float(valence), why.strip()))
    return entries


def phrase_token(phrase: str) -> str:
    """The single token a phrase becomes: its words joined by ``_`` ("On hold" -> "On_hold")."""
    return "_".join(phrase.split())


def build_lexicon(
    stock: Mapping[str, float], config: SentimentConfig
) -> tuple[dict[str, float], list[str], list[str]]:
    """VADER's lexicon with Earful's and the admin's entries layered on top (later wins).

    Negative valences are then multiplied by ``config.negative_weight``.
    Returns (lexicon keyed by lower-case token, phrases to join, single-character emoji terms).
    VADER's own multi-word entries ("fed up", "can't stand") never match in the package, whose
    tokens are single words; they become phrases here too.
    """
    layered: dict[str, float] = {}
    for key, value in stock.items():
        if " " in key and re.fullmatch(r"[\w' -]+", key):
            layered[key] = value
    if config.domain_lexicon:
        layered.update({e.term.lower(): e.valence for e in load_service_lexicon()})
    layered.update({k.strip().lower(): v for k, v in config.lexicon.items()})

    lexicon = {k: v for k, v in stock.items() if " " not in k}
    phrases: list[str] = []
    emoji: list[str] = []
    for term, valence in layered.items():
        if len(term.split()) > 1:
            phrases.append(term)
            lexicon[phrase_token(term).lower()] = valence
        else:
            lexicon[term] = valence
            if len(term) == 1 and not term.isalnum():
                emoji.append(term)
    weight = config.negative_weight
    if weight != 1.0:
        lexicon = {term: v * weight if v < 0 else v for term, v in lexicon.items()}
    return lexicon, phrases, emoji


def _words_pattern(terms: Iterable[str]) -> str:
    # longest first, so "thanks a lot for nothing" wins over shorter overlapping terms
    alts = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    if not all(t.lstrip()[0].isascii() for t in alts):
        return _flat_pattern(alts)
    # The same alternatives grouped by first character, in the same order inside each group:
    # the regex engine then tries one group per position instead of every term. Identical
    # matches: only terms whose first characters match the same text character compete at a
    # position, and (for ASCII first characters, case-insensitively) those share a group.
    groups: dict[str, list[str]] = {}
    for t in alts:
        groups.setdefault(t.lstrip()[0].lower(), []).append(t)
    return "|".join(f"(?:{_flat_pattern(ts)})" for ts in groups.values())


def _flat_pattern(alts: Iterable[str]) -> str:
    return "|".join(r"\s+".join(re.escape(w) for w in t.split()) for t in alts)


def _first_chars(terms: Iterable[str]) -> str:
    # a lookahead on the possible first characters lets the regex skip most positions quickly
    chars = {c for t in terms if t for c in (t[0].lower(), t[0].upper())}
    return "(?=[" + "".join(re.escape(c) for c in sorted(chars)) + "])" if chars else ""


@lru_cache(maxsize=256)
def _names_regex(names: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = [n.strip().lstrip("@#").strip() for n in names]
    pattern = _words_pattern(n for n in cleaned if n)
    if not pattern:
        return None
    first = _first_chars([*cleaned, "@", "#"])
    return re.compile(rf"{first}(?<!\w)[@#]?(?:{pattern})(?!\w)", re.IGNORECASE)


class TextPrep:
    """Compiled text preparation for one config (see the module docstring for the steps)."""

    def __init__(
        self, config: SentimentConfig, phrases: Sequence[str], emoji: Sequence[str]
    ) -> None:
        self.config = config
        pattern = _words_pattern(phrases)
        self._phrases = (
            re.compile(rf"{_first_chars(phrases)}(?<![\w'])(?:{pattern})(?![\w'])", re.IGNORECASE)
            if pattern
            else None
        )
        tags = sorted({t.strip().lstrip("#").lower() for t in config.sarcasm_tags if t.strip()})
        self._sarcasm = (
            re.compile(rf"(?<![\w#])#(?:{'|'.join(map(re.escape, tags))})(?!\w)", re.IGNORECASE)
            if tags
            else None
        )
        self._emoji_pad = {ord(e): f" {e} " for e in emoji}
        self._emoji_chars = frozenset(emoji)

    def is_sarcastic(self, text: str) -> bool:
        """True when ``text`` carries one of the configured sarcasm hashtags."""
        return self._sarcasm is not None and "#" in text and self._sarcasm.search(text) is not None

    def prepare(self, text: str, names: Sequence[str] = ()) -> str:
        """The text VADER should read: see the module docstring. Pure, linear in len(text)."""
        cfg = self.config
        if cfg.decode_escapes and "\\u" in text:
            text = _LITERAL_ESCAPE.sub(_decode_escape, text)
        if cfg.normalize_emoji and not text.isascii() and not _no_mask_chars(text):
            text = text.translate(_EMOJI_NORMALIZE)
        if cfg.strip_urls and ("http" in text or "www." in text or "HTTP" in text):
            text = _URL.sub(" ", text)
        if cfg.strip_handles and "@" in text:
            text = _HANDLE.sub(" ", text)
        if cfg.split_hashtags and "#" in text:
            text = _CAMEL_TAG.sub(_split_camel, text)
        if cfg.mask_names and names:
            rx = _names_regex(tuple(names))
            if rx is not None:
                text = rx.sub(" ", text)
        if self._phrases is not None:
            text = self._phrases.sub(_join_phrase, text)
        if cfg.like_as_verb_only and "like" in text.lower():
            text = _LIKE.sub(_like_as_verb_only, text)
        if self._emoji_pad and not text.isascii() and not self._emoji_chars.isdisjoint(text):
            text = text.translate(self._emoji_pad)
        return text


def _no_mask_chars(text: str) -> bool:
    return not any(c in text for c in _MASK_CHARS)


def _join_phrase(m: re.Match[str]) -> str:
    return phrase_token(m.group())


def _decode_escape(m: re.Match[str]) -> str:
    char = chr(int(m.group(1), 16))
    return m.group() if 0xD800 <= ord(char) <= 0xDFFF else char


def _like_as_verb_only(m: re.Match[str]) -> str:
    before, like = m.group(1), m.group(2)
    if before is not None and before.lower() in _LIKE_VERB_CONTEXT:
        return m.group()
    # a word VADER does not know, in the author's case (caps still count as caps)
    neutral = "AKIN" if like.isupper() else "Akin" if like[0].isupper() else "akin"
    return m.group()[: m.start(2) - m.start()] + neutral


def _split_camel(m: re.Match[str]) -> str:
    return " ".join(_CAMEL_PART.findall(m.group(1)))
