"""A faithful, faster re-implementation of vaderSentiment 3.3.2 ``polarity_scores``.

Contract: for every ``str`` text, ``FastVader(lexicon, emojis).polarity_scores(text)`` returns the
same ``neg``/``neu``/``pos``/``compound`` as ``SentimentIntensityAnalyzer().polarity_scores(text)``
built on the same lexicons (``tests/unit/test_sentiment_vader_fast.py`` checks it on every text of
../shared/data/sentiment and on a randomized corpus). Every rule, constant and quirk is kept —
including the order of float additions — only the work is reorganised:

* emoji are replaced by one C-level regex substitution instead of a per-character Python loop
  (same spacing rule: a space before a description unless at the start or after a ``' '``);
* every token is lower-cased once, instead of the whole text once per sentiment word (the
  package's ``_negation_check`` / ``_special_idioms_check`` re-lowercase all words: quadratic);
* only tokens found in the lexicon run the valence rules; all others are the package's ``0``;
* the contrastive-``but`` rule keeps the package's ``list.index`` quirk (a value is written to the
  *first* position holding an equal value) with a heap per value: O(n log n) instead of O(n²).

The result: linear-time scoring (the package is quadratic on long texts) and several times faster
on tweets. Lexicons are plain dicts so Earful can layer its domain entries on top.
"""

from __future__ import annotations

import heapq
import logging
import math
import string
from collections.abc import Mapping
from itertools import compress

from vaderSentiment.vaderSentiment import (
    B_INCR,
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

logger = logging.getLogger(__name__)

_PUNCT = string.punctuation
_NEGATE = frozenset(NEGATE)
# words that change a following sentiment word: boosters, negations, and the words of the
# package's special rules ("never so", "without doubt", "at least", "no ... or", "so"/"this")
_CONTEXT_WORDS = (
    frozenset(BOOSTER_DICT)
    | _NEGATE
    | frozenset(["no", "never", "so", "this", "without", "doubt", "least", "or", "nor"])
)
# every word of a multi-word special case or booster: an idiom can only match when one is near
_IDIOM_WORDS = frozenset(
    w for key in (*SPECIAL_CASES, *BOOSTER_DICT) if " " in key for w in key.split()
)
_B_INCR = B_INCR  # re-exported for readers comparing constants with the package
_MARK = "\ue000"  # a private-use character marking where an emoji description starts


class _WordCache(dict[str, str]):
    """Raw token -> VADER's word (the package's ``strip(punctuation)`` unless that leaves two
    characters or fewer). Social text repeats its words: a hit is one C-level lookup instead of
    a Python-level strip per token. Bounded: cleared when full."""

    limit = 200_000

    def __missing__(self, token: str) -> str:
        stripped = token.strip(_PUNCT)
        word = stripped if len(stripped) > 2 else token
        if len(self) >= self.limit:
            self.clear()
        self[token] = word
        return word


_WORDS = _WordCache()


def load_stock_lexicons() -> tuple[dict[str, float], dict[str, str]]:
    """The package's own word lexicon and emoji lexicon, read from its data files."""
    sia = SentimentIntensityAnalyzer()
    return dict(sia.lexicon), dict(sia.emojis)


def _is_negation(word_lower: str) -> bool:
    # the package's negated([word]) on an already lower-cased word
    return word_lower in _NEGATE or "n't" in word_lower


def _normalize(score: float, alpha: float = 15) -> float:
    norm_score = score / math.sqrt((score * score) + alpha)
    if norm_score < -1.0:
        return -1.0
    if norm_score > 1.0:
        return 1.0
    return norm_score


class FastVader:
    """VADER 3.3.2 scoring over given lexicons (word -> valence, emoji -> description)."""

    def __init__(self, lexicon: Mapping[str, float], emojis: Mapping[str, str]) -> None:
        self.lexicon: dict[str, float] = dict(lexicon)
        self.emojis: dict[str, str] = dict(emojis)
        # the package tests emoji one character at a time: only one-character keys can ever match
        singles = {k: v for k, v in self.emojis.items() if len(k) == 1}
        self._emoji_chars = frozenset(singles)
        self._has_ascii_emoji = any(k.isascii() for k in singles)
        # each emoji becomes MARK + description; MARK then becomes the package's optional space
        self._emoji_table = {ord(k): _MARK + v for k, v in singles.items()}

    # -- text -> tokens ----------------------------------------------------------------------
    def _replace_emoji(self, text: str) -> str:
        if (text.isascii() and not self._has_ascii_emoji) or self._emoji_chars.isdisjoint(text):
            return text
        if _MARK in text:
            return self._replace_emoji_slowly(text)
        out = text.translate(self._emoji_table)
        # The package writes a space before a description unless at the very start or right
        # after a ' ' (descriptions never end in a space, so this reads the translated text).
        out = out.replace(" " + _MARK, " ")
        if out.startswith(_MARK):
            out = out[1:]
        return out.replace(_MARK, " ")

    def _replace_emoji_slowly(self, text: str) -> str:
        # the package's loop, for the rare text that contains our marker character
        parts: list[str] = []
        prev_space = True
        for ch in text:
            if ch in self._emoji_chars:
                if not prev_space:
                    parts.append(" ")
                parts.append(self.emojis[ch])
                prev_space = False
            else:
                parts.append(ch)
                prev_space = ch == " "
        return "".join(parts)

    # -- scoring -----------------------------------------------------------------------------
    def polarity_scores(self, text: str) -> dict[str, float]:
        """Exactly ``SentimentIntensityAnalyzer.polarity_scores(text)`` of vaderSentiment 3.3.2."""
        return self.score_tokens(*self.tokenize(text))

    def tokenize(self, text: str) -> tuple[str, list[str], list[str]]:
        """(text with emoji described, VADER's words, the words lower-cased)."""
        # The package strips the text first; split() and the '!'/'?' counts ignore that.
        text = self._replace_emoji(text)
        words = list(map(_WORDS.__getitem__, text.split()))
        return text, words, list(map(str.lower, words))

    def score_tokens(self, text: str, words: list[str], lw: list[str]) -> dict[str, float]:
        """The scores of a tokenized text (see ``tokenize``), with this analyzer's lexicon."""
        n = len(words)
        if n == 0:
            return {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
        allcaps = sum(map(str.isupper, words))
        is_cap_diff = 0 < n - allcaps < n
        lex = self.lexicon

        sentiments: list[float] = [0] * n
        scored: list[int] = []
        for i in compress(range(n), map(lex.__contains__, lw)):
            il = lw[i]
            if il in BOOSTER_DICT:
                continue
            if i < n - 1 and il == "kind" and lw[i + 1] == "of":
                continue
            sentiments[i] = self._valence(words, lw, i, is_cap_diff)
            scored.append(i)

        if "but" in lw:
            self._but_check(lw.index("but"), sentiments, scored)
        return self._score_valence(sentiments, scored, text)

    def _valence(self, words: list[str], lw: list[str], i: int, is_cap_diff: bool) -> float:
        lex = self.lexicon
        n = len(lw)
        il = lw[i]
        valence = lex[il]
        if il == "no" and i != n - 1 and lw[i + 1] in lex:
            valence = 0.0
        if not any(w in _CONTEXT_WORDS or "n't" in w for w in lw[max(0, i - 3) : i]):
            # Fast path: nothing before the word can boost, negate or dampen it, so the
            # package's rules below reduce to the caps emphasis and the idiom check.
            if is_cap_diff and words[i].isupper():
                valence = valence + C_INCR if valence > 0 else valence - C_INCR
            if i > 2 and lw[i - 3] not in lex:
                valence = _special_idioms_check(valence, lw, i)
            return valence
        if (
            (i > 0 and lw[i - 1] == "no")
            or (i > 1 and lw[i - 2] == "no")
            or (i > 2 and lw[i - 3] == "no" and lw[i - 1] in ("or", "nor"))
        ):
            valence = lex[il] * N_SCALAR
        if is_cap_diff and words[i].isupper():
            if valence > 0:
                valence += C_INCR
            else:
                valence -= C_INCR
        for start_i in range(0, 3):
            if i > start_i and lw[i - (start_i + 1)] not in lex:
                j = i - (start_i + 1)
                s = _scalar_inc_dec(words[j], lw[j], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation_check(valence, lw, start_i, i)
                if start_i == 2:
                    valence = _special_idioms_check(valence, lw, i)
        return _least_check(valence, lw, i, lex)

    @staticmethod
    def _but_check(bi: int, sentiments: list[float], scored: list[int]) -> None:
        # The package: for each value v (in order), si = sentiments.index(v) -- the FIRST position
        # currently equal to v -- gets v*0.5 (before 'but') or v*1.5 (after). Zeros never change
        # anything. A heap of positions per current value reproduces index() in O(log n).
        where: dict[float, list[int]] = {}
        for k in scored:
            v = sentiments[k]
            if v != 0:
                where.setdefault(v, []).append(k)  # ascending positions: already a heap
        for k in scored:
            v = sentiments[k]  # unchanged when reached: writes only go to positions <= k' < k
            if v == 0:
                continue
            heap = where[v]
            si = heap[0]
            if si == bi:
                continue
            w = v * 0.5 if si < bi else v * 1.5
            heapq.heappop(heap)
            if not heap:
                del where[v]
            sentiments[si] = w
            heapq.heappush(where.setdefault(w, []), si)

    @staticmethod
    def _score_valence(sentiments: list[float], scored: list[int], text: str) -> dict[str, float]:
        sum_s = float(sum(sentiments))
        ep_count = min(text.count("!"), 4)
        qm_count = text.count("?")
        qm_amplifier: float = 0
        if qm_count > 1:
            qm_amplifier = qm_count * 0.18 if qm_count <= 3 else 0.96
        punct_emph_amplifier = ep_count * 0.292 + qm_amplifier
        if sum_s > 0:
            sum_s += punct_emph_amplifier
        elif sum_s < 0:
            sum_s -= punct_emph_amplifier
        compound = _normalize(sum_s)

        pos_sum = 0.0
        neg_sum = 0.0
        nonzero = 0
        for k in scored:
            s = sentiments[k]
            if s > 0:
                pos_sum += float(s) + 1
                nonzero += 1
            elif s < 0:
                neg_sum += float(s) - 1
                nonzero += 1
        neu_count = len(sentiments) - nonzero

        if pos_sum > math.fabs(neg_sum):
            pos_sum += punct_emph_amplifier
        elif pos_sum < math.fabs(neg_sum):
            neg_sum -= punct_emph_amplifier
        total = pos_sum + math.fabs(neg_sum) + neu_count
        return {
            "neg": round(math.fabs(neg_sum / total), 3),
            "neu": round(math.fabs(neu_count / total), 3),
            "pos": round(math.fabs(pos_sum / total), 3),
            "compound": round(compound, 4),
        }


def _scalar_inc_dec(word: str, word_lower: str, valence: float, is_cap_diff: bool) -> float:
    scalar = 0.0
    if word_lower in BOOSTER_DICT:
        scalar = BOOSTER_DICT[word_lower]
        if valence < 0:
            scalar *= -1
        if word.isupper() and is_cap_diff:
            if valence > 0:
                scalar += C_INCR
            else:
                scalar -= C_INCR
    return scalar


def _negation_check(valence: float, lw: list[str], start_i: int, i: int) -> float:
    if start_i == 0:
        if _is_negation(lw[i - 1]):
            valence = valence * N_SCALAR
    elif start_i == 1:
        if lw[i - 2] == "never" and (lw[i - 1] == "so" or lw[i - 1] == "this"):
            valence = valence * 1.25
        elif lw[i - 2] == "without" and lw[i - 1] == "doubt":
            pass
        elif _is_negation(lw[i - 2]):
            valence = valence * N_SCALAR
    else:
        if (lw[i - 3] == "never" and (lw[i - 2] == "so" or lw[i - 2] == "this")) or (
            lw[i - 1] == "so" or lw[i - 1] == "this"
        ):
            valence = valence * 1.25
        elif lw[i - 3] == "without" and (lw[i - 2] == "doubt" or lw[i - 1] == "doubt"):
            pass
        elif _is_negation(lw[i - 3]):
            valence = valence * N_SCALAR
    return valence


def _special_idioms_check(valence: float, lw: list[str], i: int) -> float:
    # Every sequence below joins words of lw[i-3 .. i+2] with spaces (tokens hold no whitespace),
    # so only multi-word keys can match, and only when one of those words is a word of a key.
    words = _IDIOM_WORDS
    if (
        lw[i - 3] not in words
        and lw[i - 2] not in words
        and lw[i - 1] not in words
        and lw[i] not in words
        and (i + 1 >= len(lw) or lw[i + 1] not in words)
        and (i + 2 >= len(lw) or lw[i + 2] not in words)
    ):
        return valence
    onezero = f"{lw[i - 1]} {lw[i]}"
    twoonezero = f"{lw[i - 2]} {lw[i - 1]} {lw[i]}"
    twoone = f"{lw[i - 2]} {lw[i - 1]}"
    threetwoone = f"{lw[i - 3]} {lw[i - 2]} {lw[i - 1]}"
    threetwo = f"{lw[i - 3]} {lw[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    n = len(lw)
    if n - 1 > i:
        zeroone = f"{lw[i]} {lw[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if n - 1 > i + 1:
        zeroonetwo = f"{lw[i]} {lw[i + 1]} {lw[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence


def _least_check(valence: float, lw: list[str], i: int, lex: Mapping[str, float]) -> float:
    if i > 1 and lw[i - 1] not in lex and lw[i - 1] == "least":
        if lw[i - 2] != "at" and lw[i - 2] != "very":
            valence = valence * N_SCALAR
    elif i > 0 and lw[i - 1] not in lex and lw[i - 1] == "least":
        valence = valence * N_SCALAR
    return valence
