"""Text side of the query language: how posts and query terms become word tokens.

Both sides go through the same steps, so a term matches exactly when its tokens occur:

1. NFKC + casefold (``Ｕｎｉｔｅｄ`` and ``UNITED`` are ``united``; ``ß`` is ``ss``).
2. Words are runs of letters, digits and ``_``; punctuation separates (``united's`` is
   ``united`` ``s``; ``737-800`` is ``737`` ``800``). CJK ideographs, kana and Hangul have no
   spaces between words, so each such character is a token of its own and a CJK term becomes a
   phrase of characters — a substring match.
3. ``@handle``, ``#tag`` and ``$TICK`` (not inside a word: ``a@b.com`` has no handle) also yield
   the prefixed token, so ``@united`` matches only the handle while ``united`` matches both.
4. Accent-folded forms are added for the post (``café`` also yields ``cafe``): a term typed
   without accents matches with or without them; a term typed with accents needs them.

Site and language facts go into the same key set under private prefixes (``\\x00s:``,
``\\x00l:``, ``\\x00a:`` for author tokens), so every kind of term is a set lookup.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from earful.matching.matcher import MatchDoc

# Scripts written without spaces between words (Hangul too: particles stick to nouns).
_CJK = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
)
_WORD = re.compile(rf"[^\W{_CJK}]+|[{_CJK}]")
_HANDLE = re.compile(rf"(?<!\w)[@#$][^\W{_CJK}]+")
# ASCII text has no CJK: plain \w+ finds the same tokens three times faster.
_ASCII_WORD = re.compile(r"\w+", re.ASCII)
_ASCII_HANDLE = re.compile(r"(?<!\w)[@#$]\w+", re.ASCII)
_QUERY_TOKEN = re.compile(rf"(?:(?<!\w)[@#$])?[^\W{_CJK}]+|[{_CJK}]")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# A non-ASCII word character or combining mark: without one (ASCII words among emoji and
# symbols), the words, handles and folded forms are the ASCII tokenizer's.
_NON_ASCII_WORD = re.compile(
    "[^\\W\x00-\x7f]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
# scheme://[userinfo@]host — the host is what ``site:`` compares.
_URL_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^:/?#\[\]]+)")
_EMPTY: frozenset[str] = frozenset()


def normalize_text(s: str) -> str:
    """NFKC + casefold (ASCII takes the fast path)."""
    if s.isascii():
        return s.lower()
    return unicodedata.normalize("NFKC", s).casefold()


def fold_accents(s: str) -> str:
    """Strip combining accents (``é`` -> ``e``); Hangul and kana are recomposed intact."""
    if s.isascii():
        return s
    if (
        unicodedata.is_normalized("NFD", s)
        and unicodedata.is_normalized("NFC", s)
        and not _COMBINING.search(s)
    ):
        # nothing to decompose, strip or recompose (emoji, most non-Latin scripts)
        return s
    return unicodedata.normalize("NFC", _COMBINING.sub("", unicodedata.normalize("NFD", s)))


def text_tokens(s: str) -> list[str]:
    """Every lookup key of an already normalized string (words, handles, folded forms)."""
    if s.isascii() or not _NON_ASCII_WORD.search(s):
        tokens: list[str] = _ASCII_WORD.findall(s)
        if "@" in s or "#" in s or "$" in s:
            tokens += _ASCII_HANDLE.findall(s)
        return tokens
    tokens = _WORD.findall(s)
    if "@" in s or "#" in s or "$" in s:
        tokens += _HANDLE.findall(s)
    folded = fold_accents(s)
    if folded != s:
        tokens += _WORD.findall(folded)
        tokens += _HANDLE.findall(folded)
    return tokens


def query_tokens(value: str) -> list[str]:
    """A query word or phrase -> its tokens (handles keep their prefix)."""
    return list(_QUERY_TOKEN.findall(normalize_text(value)))


def normalize_host(value: str) -> str | None:
    """``https://WWW.Example.com/x`` -> ``www.example.com``; None when not a host name."""
    v = value.strip().lower()
    if "://" in v:
        v = v.split("://", 1)[1]
    v = v.split("/", 1)[0].split("?", 1)[0].rstrip(".")
    v = v.rsplit("@", 1)[-1].split(":", 1)[0]
    if not v.isascii():
        try:
            v = v.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return v if _HOST.match(v) else None


def host_keys(url: str) -> list[str]:
    """Site keys of a URL: its host and every parent domain (``a.b.com``, ``b.com``, ``com``)."""
    m = _URL_HOST.match(url.strip())
    return list(_host_suffixes(m.group(1))) if m else []


@lru_cache(maxsize=8192)
def _host_suffixes(host: str) -> tuple[str, ...]:
    # Posts come from few hosts: caching makes the per-post cost a dict lookup.
    norm = normalize_host(host)
    if norm is None:
        return ()
    labels = norm.split(".")
    return tuple("\x00s:" + ".".join(labels[i:]) for i in range(len(labels)))


@lru_cache(maxsize=1024)
def lang_keys(language: str) -> tuple[str, ...]:
    tag = language.strip().lower().replace("_", "-")
    if not tag:
        return ()
    primary = tag.split("-", 1)[0]
    return ("\x00l:" + tag,) if primary == tag else ("\x00l:" + tag, "\x00l:" + primary)


def collect_tokens(
    doc: MatchDoc, author: bool = True, site: bool = True, lang: bool = True
) -> tuple[list[str], list[str], dict[str, str], dict[str, list[str]]]:
    """(all keys, title keys, normalized texts by field, word sequences) of a document.

    ``author``/``site``/``lang`` false skip facts no configured query asks about. Word
    sequences are given for the fields whose positions are plain word order (ASCII, no
    ``@#$``), so phrases there are found without tokenizing again. A title that is the text's
    own start, cut at a word boundary, adds no key the text lacks: its tokens are not added.
    """
    texts: dict[str, str] = {}
    words: dict[str, list[str]] = {}
    text = normalize_text(doc.text) if doc.text else ""
    texts["text"] = text
    tokens = _field_tokens(text, "text", words) if text else []
    title_tokens: list[str] = []
    if doc.title:
        title = normalize_text(doc.title)
        texts["title"] = title
        title_tokens = _field_tokens(title, "title", words)
        if not is_word_prefix(title, text):
            tokens = tokens + title_tokens
    if author and doc.author:
        name = normalize_text(doc.author)
        texts["author"] = name
        tokens = tokens + ["\x00a:" + t for t in text_tokens(name)]
    if site:
        if doc.url:
            tokens = tokens + host_keys(doc.url)
        for other in doc.other_urls:
            tokens = tokens + host_keys(other)
    if lang and doc.language:
        tokens = tokens + list(lang_keys(doc.language))
    return tokens, title_tokens, texts, words


def _field_tokens(s: str, field: str, words: dict[str, list[str]]) -> list[str]:
    if (
        "@" not in s
        and "#" not in s
        and "$" not in s
        and (s.isascii() or not _NON_ASCII_WORD.search(s))
    ):
        seq: list[str] = _ASCII_WORD.findall(s)
        words[field] = seq
        return seq  # shared: the caller adds keys to a new list
    return text_tokens(s)


def is_word_prefix(title: str, text: str) -> bool:
    """True when normalized ``title`` is the start of normalized ``text`` ending where a word
    ends: its keys and phrases are then the text's own (a title cut mid-word is not)."""
    if not text.startswith(title):
        return False
    n = len(title)
    return n == len(text) or not (_is_word(title[-1]) and _is_word(text[n])) if n else True


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"


def positions_of(s: str) -> dict[str, list[int]]:
    """Token -> word positions in a normalized string (handles and folded forms included).

    Linear in the length of ``s``: a hostile 1 MB post costs what its size says.
    """
    word = _ASCII_WORD if s.isascii() else _WORD
    toks: list[str] = word.findall(s)
    pos: dict[str, list[int]] = {}
    for i, tok in enumerate(toks):
        lst = pos.get(tok)
        if lst is None:
            pos[tok] = [i]
        else:
            lst.append(i)
    extra = False
    if "@" in s or "#" in s or "$" in s:
        starts = [m.start() for m in word.finditer(s)]
        for h in _HANDLE.finditer(s):
            i = bisect_left(starts, h.start() + 1)
            if i < len(starts) and starts[i] == h.start() + 1:
                pos.setdefault(h.group(), []).append(i)
                extra = True
    if not s.isascii():
        folded = _WORD.findall(fold_accents(s))
        if len(folded) == len(toks):
            for i, (tok, alt) in enumerate(zip(toks, folded, strict=True)):
                if alt != tok:
                    pos.setdefault(alt, []).append(i)
                    extra = True
    if extra:
        for lst in pos.values():
            lst.sort()
    return pos


class DocIndex:
    """A document tokenized once: key sets for lookups, positions computed on demand.

    ``words``: the plain word sequence of fields without handles or non-ASCII text, where a
    word's position is its index; phrases there are found by scanning it.
    """

    __slots__ = ("_pos", "keys", "texts", "title_keys", "words")

    def __init__(
        self,
        keys: set[str],
        title_keys: set[str] | frozenset[str],
        texts: dict[str, str],
        words: dict[str, list[str]] | None = None,
    ) -> None:
        self.keys = keys
        self.title_keys = title_keys
        self.texts = texts
        self.words = words if words is not None else {}
        self._pos: dict[str, dict[str, list[int]]] = {}

    def positions(self, field: str) -> dict[str, list[int]]:
        pos = self._pos.get(field)
        if pos is None:
            seq = self.words.get(field)
            if seq is None:
                pos = positions_of(self.texts.get(field, ""))
            else:
                pos = {}
                for i, tok in enumerate(seq):
                    pos.setdefault(tok, []).append(i)
            self._pos[field] = pos
        return pos

    def has_phrase(self, field: str, toks: tuple[str, ...]) -> bool:
        if field not in self.texts:
            return False
        seq = self.words.get(field)
        if seq is not None:
            return _has_run(seq, toks)
        pos = self.positions(field)
        starts = pos.get(toks[0])
        if not starts:
            return False
        follow = [set(pos.get(t, ())) for t in toks[1:]]
        return any(all(p + i + 1 in s for i, s in enumerate(follow)) for p in starts)


def _has_run(seq: list[str], toks: tuple[str, ...]) -> bool:
    # toks occurs in seq as consecutive words (list.index scans in C)
    first, rest, k = toks[0], list(toks[1:]), len(toks)
    i = -1
    try:
        while True:
            i = seq.index(first, i + 1)
            if seq[i + 1 : i + k] == rest:
                return True
    except ValueError:
        return False


def doc_index(doc: MatchDoc) -> DocIndex:
    tokens, title_tokens, texts, words = collect_tokens(doc)
    return DocIndex(set(tokens), set(title_tokens) if title_tokens else _EMPTY, texts, words)


def token_spans(text: str) -> list[tuple[set[str], int, int, int]]:
    """Tokens of raw ``text`` with character offsets: (forms, start, end, start with prefix)."""
    out: list[tuple[set[str], int, int, int]] = []
    for m in _WORD.finditer(text):
        tok = normalize_text(m.group())
        forms = {tok, fold_accents(tok)}
        start = m.start()
        pstart = start
        if start and text[start - 1] in "@#$" and (start == 1 or not _is_word(text[start - 2])):
            pstart = start - 1
            forms |= {text[start - 1] + f for f in list(forms)}
        out.append((forms, start, m.end(), pstart))
    return out
