"""Brand query language -> compiled matcher.

Grammar and tree: :mod:`earful.matching.grammar`; tokenization: :mod:`earful.matching.index`.

``AND``/``OR``/``NOT``/``NEAR/n`` are operators only in capitals. ``-x`` excludes ``x`` from the
whole group it stands in (the enclosing parentheses, or the whole query), so
``a OR b -c`` means ``(a OR b) AND NOT c``; ``NOT`` binds to its neighbour only.

Text is compared as words: both sides are NFKC-normalized and casefolded, split into word
tokens (``united`` never matches ``reunited``), ``@handle``/``#tag``/``$TICKER`` are tokens of
their own that also count as the bare word, and a term typed without accents matches accented
text too (``cafe`` matches ``café``; ``café`` matches only ``café``). CJK and Hangul are
split into single characters, so a CJK term is a substring match.

Contract: ``compile_query`` raises :class:`QuerySyntaxError` (a ConfigError) with a 1-based
``position``; a compiled query never raises on any document. Speed comes from
:class:`BrandMatcher`: every query is indexed by an *anchor* set of tokens, one of which any
matching post must contain, so a post only evaluates the few queries its tokens point at. A post
containing none of the anchors even as a substring is rejected before it is tokenized, by one
Aho-Corasick scan (``pyahocorasick``) of its normalized text and title.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ahocorasick

from earful.matching.grammar import Fn, QuerySyntaxError, Term, node_fields, parse_query
from earful.matching.grammar import Node as _Node
from earful.matching.index import (
    DocIndex,
    collect_tokens,
    doc_index,
    fold_accents,
    normalize_text,
    query_tokens,
    token_spans,
)
from earful.mention import RawMention

if TYPE_CHECKING:
    from earful.config.models import BrandConfig

logger = logging.getLogger(__name__)

__all__ = [
    "BrandMatcher",
    "MatchDoc",
    "Query",
    "QuerySyntaxError",
    "compile_brands",
    "compile_query",
]


@dataclass
class MatchDoc:
    """What a query sees of a post."""

    text: str
    title: str | None = None
    author: str | None = None
    url: str | None = None
    language: str | None = None
    # Other addresses the post stands for, also matched by ``site:`` — the publisher of a
    # Google News item, the page a Hacker News story links to.
    other_urls: tuple[str, ...] = ()

    @classmethod
    def from_mention(cls, m: RawMention) -> MatchDoc:
        others = tuple(
            str(m.extra[k])
            for k in _OTHER_URL_KEYS
            if isinstance(m.extra.get(k), str) and m.extra[k]
        )
        return cls(
            m.text,
            title=m.title,
            author=m.author,
            url=m.url,
            language=m.language,
            other_urls=others,
        )


# RawMention.extra keys some connectors fill with a related address (see earful.sources).
_OTHER_URL_KEYS = ("publisher_url", "link_url")


# ---------------------------------------------------------------- public API


class Query:
    """A compiled query; :meth:`matches` is safe on any document."""

    def __init__(self, source: str, node: _Node) -> None:
        self.source = source
        self._node = node
        self._fn = node.compile()
        self.anchor = node.anchor()
        self.fields = node_fields(node)

    def matches(self, doc: MatchDoc) -> bool:
        return self._fn(doc_index(doc))

    def matches_index(self, d: DocIndex) -> bool:
        return self._fn(d)

    def terms(self) -> list[str]:
        """Positive words and phrases of the title or text (casefolded), for highlighting."""
        out: list[Term] = []
        self._node.positives(out)
        return list(dict.fromkeys(t.text for t in out if t.field in ("body", "title")))

    def _term_tokens(self) -> list[tuple[str, ...]]:
        out: list[Term] = []
        self._node.positives(out)
        return list(dict.fromkeys(t.tokens for t in out if t.field in ("body", "title")))

    def __repr__(self) -> str:
        return f"Query({self.source!r})"


def compile_query(q: str) -> Query:
    """Parse and compile ``q``; raises QuerySyntaxError with the position of the mistake."""
    if not isinstance(q, str):
        raise QuerySyntaxError("a query must be text", repr(q), 1)
    node = parse_query(q)
    query = Query(q, node)
    if query.matches_index(doc_index(MatchDoc(""))):
        raise QuerySyntaxError("the query matches every post (it needs a positive term)", q, 1)
    return query


def brand_queries(brand: BrandConfig) -> list[str]:
    """The queries a brand is matched with: its own, or its name and aliases as phrases."""
    if brand.queries:
        return list(brand.queries)
    names = [brand.name, *brand.aliases]
    return [" OR ".join('"' + n.replace('"', " ") + '"' for n in names if query_tokens(n))]


class BrandMatcher:
    """Every configured brand's queries, indexed by anchor tokens."""

    def __init__(self, entries: Sequence[tuple[str, Query]]) -> None:
        self.brands: list[str] = list(dict.fromkeys(name for name, _ in entries))
        rank = {name: i for i, name in enumerate(self.brands)}
        self._queries: dict[str, list[Query]] = {name: [] for name in self.brands}
        self._brand_of: list[int] = []
        self._fns: list[Fn] = []
        by_anchor: dict[str, list[int]] = {}
        self._unanchored: list[int] = []
        fields: set[str] = set()
        for qid, (name, query) in enumerate(entries):
            self._queries[name].append(query)
            self._brand_of.append(rank[name])
            self._fns.append(query._fn)
            fields |= query.fields
            if query.anchor is None:
                self._unanchored.append(qid)
            else:
                for key in query.anchor[0]:
                    by_anchor.setdefault(key, []).append(qid)
        self._by_anchor = by_anchor
        self._anchor_keys = frozenset(by_anchor)
        self._flags = ("author" in fields, "site" in fields, "lang" in fields)
        # title keys are read only by title: terms; building the set costs as much as the
        # body's when no query asks
        self._title_keys = "title" in fields
        self._prefilter = _anchor_automaton(self._anchor_keys) if not self._unanchored else None

    def _may_match(self, doc: MatchDoc) -> bool:
        # Every key of a document's text or title is a substring of the normalized (or
        # accent-folded) text or title, so a document containing no anchor as a substring
        # has no anchor key: one C-level Aho-Corasick scan rejects it before tokenizing.
        automaton = self._prefilter
        if automaton is None:
            return True
        for value in (doc.text, doc.title):
            if not value:
                continue
            s = normalize_text(value)
            if next(automaton.iter(s), None) is not None:
                return True
            if not s.isascii():
                folded = fold_accents(s)
                if folded != s and next(automaton.iter(folded), None) is not None:
                    return True
        return False

    def match(self, doc: MatchDoc, only: Collection[str] | None = None) -> list[str]:
        """Names of the brands (in config order) any of whose queries match ``doc``.

        ``only``: restrict to these brand names (a source's ``brands:`` setting).
        """
        if not self._may_match(doc):
            return []
        tokens, title_tokens, texts, words = collect_tokens(doc, *self._flags)
        hits = self._anchor_keys.intersection(tokens)
        if not hits and not self._unanchored:
            return []
        if len(hits) == 1 and not self._unanchored:
            (key,) = hits
            ordered: Iterable[int] = self._by_anchor[key]  # ascending already
        else:
            candidates = set(self._unanchored)
            for key in hits:
                candidates.update(self._by_anchor[key])
            ordered = sorted(candidates)
        title_keys: set[str] | frozenset[str] = (
            set(title_tokens) if self._title_keys else frozenset()
        )
        d = DocIndex(set(tokens), title_keys, texts, words)
        matched: set[int] = set()
        for qid in ordered:
            b = self._brand_of[qid]
            if b not in matched and self._fns[qid](d):
                matched.add(b)
        names = [self.brands[b] for b in sorted(matched)]
        if only is not None:
            allowed = {o.casefold() for o in only}
            names = [n for n in names if n.casefold() in allowed]
        return names

    def queries(self, brand: str) -> list[Query]:
        for name, qs in self._queries.items():
            if name.casefold() == brand.casefold():
                return qs
        return []

    def highlight(self, brand: str, text: str) -> list[tuple[int, int]]:
        """Character spans ``[start, end)`` in ``text`` of the brand's matched terms, merged.

        Uses the terms of the brand's queries that match ``text`` alone, or of all its queries
        when none does (the match came from the title or the author).
        """
        queries = self.queries(brand)
        if not queries or not text:
            return []
        d = doc_index(MatchDoc(text))
        chosen = [q for q in queries if q.matches_index(d)] or queries
        phrases = list(dict.fromkeys(t for q in chosen for t in q._term_tokens()))
        return _find_spans(text, phrases)


def _find_spans(text: str, phrases: Iterable[tuple[str, ...]]) -> list[tuple[int, int]]:
    toks = token_spans(text)  # [(forms, start, end, prefix_start)]
    at: dict[str, list[int]] = {}
    for i, (forms, _, _, _) in enumerate(toks):
        for form in forms:
            at.setdefault(form, []).append(i)
    found: list[tuple[int, int]] = []
    for phrase in phrases:
        k = len(phrase)
        for i in at.get(phrase[0], ()):
            if i + k <= len(toks) and all(phrase[j] in toks[i + j][0] for j in range(1, k)):
                first = toks[i]
                start = first[3] if phrase[0][:1] in ("@", "#", "$") else first[1]
                found.append((start, toks[i + k - 1][2]))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(found):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _anchor_automaton(keys: Collection[str]) -> Any | None:
    """An Aho-Corasick automaton of the anchor keys, or None when some anchor is not a word
    of the text or title (author, site and language keys carry a ``\\x00`` prefix)."""
    if not keys or any(k.startswith("\x00") for k in keys):
        return None
    automaton = ahocorasick.Automaton()
    for key in keys:
        automaton.add_word(key, None)
    automaton.make_automaton()
    return automaton


def compile_brands(brands: Sequence[BrandConfig]) -> BrandMatcher:
    """One matcher for all brands, competitors included (their ``track`` flag is ignored)."""
    entries: list[tuple[str, Query]] = []
    for brand in brands:
        for q in brand_queries(brand):
            entries.append((brand.name, compile_query(q)))
    logger.debug("compiled %s queries for %s brands", len(entries), len(brands))
    return BrandMatcher(entries)
