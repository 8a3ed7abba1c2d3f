"""Recurring complaint themes: "this happens all the time", found in negative mentions.

Why keyphrase clustering (TF-IDF-weighted terms grouped by co-occurrence) and not MinHash or
embeddings:

* MinHash/LSH finds *near-duplicate texts* (copies, retweets, templated spam). Complaints about
  the same problem are written in different words by different people, so they share a few
  keyphrases ("lost luggage", "refund") rather than most of their shingles — MinHash misses them.
* Embeddings would need a model download and are hard to explain. A theme named by its terms
  ("lost luggage · baggage claim · days") is self-explaining, reviewable and deterministic.

Method, over the newest ``cap`` negative mentions of a rolling window (a deterministic sample):

1. Tokenise (lower case, URLs/handles dropped, stop words and the brand's own names removed, a
   light plural stem), and take unigrams plus bigrams of neighbouring content words.
2. Candidate terms appear in at least ``min_mentions`` mentions and, in samples of 50 or more,
   in at most half of them (words on every complaint say nothing). Score = df × (ln(N/df) + 1) —
   TF-IDF with binary term frequency — with bigrams weighted ×1.5: phrases name problems better.
3. Greedy clustering, best score first (ties by term, so the result is deterministic): a seed
   term takes the not-yet-claimed mentions containing it; candidate terms that co-occur with it
   (at least half of their mentions are in the theme) join it as extra terms and can no longer
   seed themes of their own.
4. Per theme: mentions this period, ISO weeks seen (in the brand's timezone), distinct authors,
   first/last seen, weekly counts, trend (last 7 days against the window's weekly mean) and two
   example quotes from different authors. A theme is **chronic** when it was seen in at least
   ``chronic_min_weeks`` distinct ISO weeks from at least ``chronic_min_authors`` distinct authors
   — a one-day spike, however loud, is not chronic.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from earful.digest.data import Theme, make_excerpt
from earful.digest.queries import TextRow

logger = logging.getLogger(__name__)

_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"[@][\w.]+")
_TOKEN = re.compile(r"[a-z][a-z0-9'’]*[a-z0-9]|[a-z]")

STOP_WORDS = frozenset(
    """
    a about above after again against all almost also am an and any anyone anything are aren't
    around as at be became because been before being below between both but by can can't cannot
    could couldn't did didn't do does doesn't doing don't done down during each else even ever
    every few for from further get gets getting got gotten had hadn't has hasn't have haven't
    having he her here hers herself him himself his how i i'd i'll i'm i've if in into is isn't
    it it's its itself just let's like made make makes many me might more most much must my
    myself need needs never no nor not now of off on once one only or other our ours ourselves
    out over own really said same say says she should shouldn't so some something still such
    than that that's the their theirs them themselves then there there's these they they're
    this those through to too under until up upon us very via was wasn't way we we're were
    weren't what what's when where which while who whom why will with won't would wouldn't yet
    you you're your yours yourself yourselves amp rt lol omg today yesterday tomorrow day time
    again ago back go going gone know think want wanted see seen thing things lot lots already
    another ever everything anyone someone people guys thanks thank please hey hi well ok okay
    can't won't im ive dont cant wont didnt doesnt isnt wasnt arent
    """.split()  # noqa: SIM905
)


def _stem(word: str) -> str:
    """A light plural stem: ``delays`` -> ``delay``, ``charges`` -> ``charge``."""
    word = word.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str, exclude: frozenset[str] = frozenset()) -> list[str | None]:
    """Content tokens in order; ``None`` marks a dropped stop word (bigrams may bridge one)."""
    clean = _HANDLE.sub(" ", _URL.sub(" ", text.lower()))
    out: list[str | None] = []
    for raw in _TOKEN.findall(clean):
        word = raw.replace("’", "'")
        if word in STOP_WORDS or len(word) < 3 or word.isdigit():
            out.append(None)
            continue
        stem = _stem(word)
        out.append(None if stem in exclude or word in exclude else stem)
    return out


def extract_terms(text: str, exclude: frozenset[str] = frozenset()) -> set[str]:
    """Unigrams and bigrams of neighbouring content words (bridging at most one stop word)."""
    tokens = tokenize(text, exclude)
    terms: set[str] = set()
    last: str | None = None
    gap = 0
    for tok in tokens:
        if tok is None:
            gap += 1
            if gap > 1:
                last = None
            continue
        terms.add(tok)
        if last is not None and last != tok:
            terms.add(f"{last} {tok}")
        last, gap = tok, 0
    return terms


def brand_words(names: Iterable[str]) -> frozenset[str]:
    """Words of the brand's and competitors' names: present in every mention, never a theme."""
    words: set[str] = set()
    for name in names:
        for raw in _TOKEN.findall(name.lower()):
            words.add(raw)
            words.add(_stem(raw))
    return frozenset(words)


@dataclass(frozen=True, slots=True)
class ThemeParams:
    min_mentions: int = 3
    max_themes: int = 8
    chronic_min_weeks: int = 3
    chronic_min_authors: int = 3


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def find_themes(
    rows: Sequence[TextRow],
    *,
    exclude: frozenset[str],
    zone: ZoneInfo,
    period_start: datetime,
    period_end: datetime,
    window_start: datetime,
    params: ThemeParams,
) -> list[Theme]:
    """Cluster ``rows`` (negative mentions of the window) into themes, most important first:
    chronic themes, then by mentions this period, then by window total. Pure and deterministic:
    the same rows give the same themes in any order."""
    rows = sorted(rows, key=lambda r: (r.published_at, r.id))
    n = len(rows)
    if n < params.min_mentions:
        return []
    doc_terms = [extract_terms(r.text, exclude) for r in rows]
    postings: dict[str, set[int]] = {}
    for i, terms in enumerate(doc_terms):
        for term in terms:
            postings.setdefault(term, set()).add(i)
    max_df = n // 2 if n >= 50 else n
    candidates = {
        t: docs for t, docs in postings.items() if params.min_mentions <= len(docs) <= max_df
    }

    def score(term: str) -> float:
        df = len(candidates[term])
        weight = 1.5 if " " in term else 1.0
        return weight * df * (math.log(n / df) + 1.0)

    ranked = sorted(candidates, key=lambda t: (-score(t), t))
    claimed: set[int] = set()
    consumed: set[str] = set()
    clusters: list[tuple[list[str], set[int]]] = []
    for seed in ranked:
        if seed in consumed:
            continue
        docs = candidates[seed] - claimed
        if len(docs) < params.min_mentions:
            continue
        related: list[tuple[int, str]] = []
        for term in ranked:
            if term == seed or term in consumed:
                continue
            co = len(candidates[term] & docs)
            if co >= params.min_mentions and co * 2 >= len(candidates[term]):
                related.append((co, term))
        consumed.add(seed)
        consumed.update(t for _, t in related)
        shown = [seed]
        # Phrases first (they name the problem), then single words not already inside one.
        related.sort(key=lambda x: (" " not in x[1], -x[0], x[1]))
        for _, term in related:
            if len(shown) >= 4:
                break
            if any(term in s.split() or s in term.split() for s in shown):
                continue  # "luggage" adds nothing beside "lost luggage"
            shown.append(term)
        clusters.append((shown, docs))
        claimed |= docs
        if len(clusters) >= params.max_themes * 3:
            break

    themes = [
        _describe(terms, [rows[i] for i in sorted(docs)], zone=zone, period_start=period_start,
                  period_end=period_end, window_start=window_start, params=params)
        for terms, docs in clusters
    ]  # fmt: skip
    themes.sort(key=lambda t: (not t.chronic, -t.count, -t.total, t.terms))
    return themes[: params.max_themes]


def _describe(
    terms: list[str],
    docs: list[TextRow],
    *,
    zone: ZoneInfo,
    period_start: datetime,
    period_end: datetime,
    window_start: datetime,
    params: ThemeParams,
) -> Theme:
    local_days = [r.published_at.astimezone(zone).date() for r in docs]
    weeks = Counter(iso_week(d) for d in local_days)
    authors = {r.author.strip().lower() for r in docs if r.author and r.author.strip()}
    count = sum(1 for r in docs if period_start <= r.published_at < period_end)
    recent_from = period_end - timedelta(days=7)
    recent = sum(1 for r in docs if recent_from <= r.published_at < period_end)
    earlier = sum(1 for r in docs if r.published_at < recent_from)
    earlier_weeks = max((recent_from - window_start).total_seconds() / (7 * 86400), 1.0)
    first_seen = min(local_days)
    if min(r.published_at for r in docs) >= recent_from:
        trend = "new"
    elif recent >= 1.5 * (earlier / earlier_weeks) + 1:
        trend = "rising"
    elif recent <= 0.5 * (earlier / earlier_weeks):
        trend = "falling"
    else:
        trend = "steady"
    all_weeks: list[str] = []
    day = window_start.astimezone(zone).date()
    last = (period_end - timedelta(microseconds=1)).astimezone(zone).date()
    while day <= last:
        week = iso_week(day)
        if week not in all_weeks:
            all_weeks.append(week)
        day += timedelta(days=1)
    examples: list[str] = []
    links: list[str | None] = []
    seen_authors: set[str] = set()

    # Newest first, preferring this period's mentions, one quote per author.
    def in_period(r: TextRow) -> bool:
        return period_start <= r.published_at < period_end

    ordered = sorted(docs, key=lambda r: (not in_period(r), -r.published_at.timestamp(), r.id))
    for r in ordered:
        who = (r.author or f"#{r.id}").strip().lower()
        quote = make_excerpt(r.text, 200)
        if who in seen_authors or quote in examples:
            continue  # two voices, not one voice twice (or a copy-paste campaign)
        seen_authors.add(who)
        examples.append(quote)
        links.append(r.url)
        if len(examples) == 2:
            break
    return Theme(
        terms=terms,
        count=count,
        total=len(docs),
        weeks_seen=len(weeks),
        authors=len(authors),
        first_seen=first_seen,
        last_seen=max(local_days),
        chronic=len(weeks) >= params.chronic_min_weeks
        and len(authors) >= params.chronic_min_authors,
        trend=trend,
        weekly=[(w, weeks.get(w, 0)) for w in all_weeks],
        examples=examples,
        example_links=links,
    )
