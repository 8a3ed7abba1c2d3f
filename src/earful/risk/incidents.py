"""Incidents: the mentions of one story, grouped across sources, judged together.

Contract: pure functions over :class:`Member` values (no DB, no clock). Two mentions belong to
the same incident when, within ``window`` of each other, they

* share a story (same ``story_id`` — the pipeline's canonical URL) or the same URL;
* are near-duplicates: Jaccard similarity of their 3-word shingles at or above ``jaccard``
  (MinHash signatures with LSH banding find the candidate pairs, exact Jaccard confirms them,
  so grouping stays near-linear on thousands of posts);
* share a key phrase: one distinctive 3-word phrase, or two distinctive 2-word phrases
  (stop words and generic complaint words such as "customer service" do not make phrases).

Links are transitive (union–find). An incident's risk is assessed on its aggregate
(:func:`incident_input`): summed engagement curves, each post counted as engagement too, the
worst negativity among its most engaged posts, all severity terms, and its spread — so forty
small posts about one broken guitar add up.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np

from earful.mention import Reading
from earful.risk.forecast import Share
from earful.risk.references import item_keys, repost_body
from earful.risk.scoring import RiskInput

logger = logging.getLogger(__name__)

STOP = frozenset(
    """a an the and or but if of to in on at by for with from about as into over after before
    is are was were be been being am do does did have has had i me my we our you your he she it
    its they them their this that these those what which who whom there here so than too very
    just not no can could would should will shall may might must up down out off again then once
    all any both each few more most other some such only own same s t don now rt via amp http
    https www com just really still even got get gets because while since when where how why
    also like one two three four five six seven eight nine ten first last next back went going
    see seen watch watched new now yet ago via""".split()  # noqa: SIM905
)
# Words too common in complaints to make a phrase distinctive on their own.
GENERIC = frozenset(
    """customer customers service services support flight flights delayed delay delays cancelled
    canceled airline airlines worst best ever great good bad terrible awful thanks thank love
    hate never always today yesterday time hours hour day days minutes experience help staff
    crew team people new app update order account phone call email""".split()  # noqa: SIM905
)
_WORD = re.compile(r"[a-z0-9][a-z0-9'’]*")
_NUM_PERM = 64
# A story with fewer posts has no cascade to read a branching ratio from.
MIN_SHARES = 5
_BANDS = 16
_MASK = (1 << 61) - 1


@dataclass(frozen=True, slots=True)
class Member:
    """One mention, as incident grouping and incident risk need it."""

    key: str  # "source:external_id"
    source: str
    text: str
    published_at: datetime
    compound: float = 0.0
    title: str | None = None
    url: str | None = None
    story_id: int | None = None
    author_followers: int | None = None
    mention_id: int | None = None
    snapshots: Sequence[Reading] = ()
    # Marked irrelevant or spam by a person: it leaves its incident (see ``BrandWindow``).
    excluded: bool = False


@dataclass(slots=True)
class Incident:
    """The posts of one story. ``core``: the posts that *refer* to one item — the same URL or
    video, reposts of one post, copies of one text — whose curve is the story's own spread;
    the other members only resemble them (shared phrases, similar wording). Many people with
    the same everyday problem resemble each other without referring to anything: they make
    one incident (one escalation at most) but no crowd curve. Empty ``core``: all members.

    ``members`` (and ``core``) are earliest first, by (published_at, key): ``group_incidents``
    and ``BrandWindow`` build them in that order, so the root is the first member."""

    key: str
    members: list[Member] = field(default_factory=list)
    core: list[Member] = field(default_factory=list)

    @property
    def story(self) -> list[Member]:
        return self.core or self.members

    @property
    def sources(self) -> list[str]:
        return sorted({m.source for m in self.members})

    @property
    def story_sources(self) -> list[str]:
        return sorted({m.source for m in self.story})

    @property
    def first_at(self) -> datetime:
        return self.members[0].published_at

    def root(self) -> Member:
        """The earliest post: where the story started."""
        return self.members[0]


def story_text(member: Member) -> str:
    """The text grouping compares: title and text, a repost marker dropped."""
    return f"{member.title or ''} {repost_body(member.text)}"


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def shingles(text: str, k: int = 3) -> set[str]:
    words = tokens(text)
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def _h64(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big")


_PERMS = [(_h64(f"a{i}") | 1, _h64(f"b{i}")) for i in range(_NUM_PERM)]
_PERM_A = np.array([a for a, _ in _PERMS], dtype=np.uint64)[:, None]
_PERM_B = np.array([b for _, b in _PERMS], dtype=np.uint64)[:, None]


@lru_cache(maxsize=20000)
def _minhash_cached(sh: frozenset[str]) -> tuple[int, ...]:
    if not sh:
        return tuple([_MASK] * _NUM_PERM)
    hashes = np.fromiter((_h64(s) & _MASK for s in sh), dtype=np.uint64, count=len(sh))
    # uint64 arithmetic wraps modulo 2**64, so its low 61 bits are those of the exact
    # product: the signature is the one ``min((a*h + b) & MASK)`` gives in Python integers.
    with np.errstate(over="ignore"):
        mixed = (_PERM_A * hashes[None, :] + _PERM_B) & np.uint64(_MASK)
    return tuple(mixed.min(axis=1).tolist())


@lru_cache(maxsize=20000)
def band_keys(sh: frozenset[str]) -> tuple[int, ...]:
    """The LSH bucket of each band as one integer (the hash of the band's number and rows):
    texts share a bucket when every row of a band agrees. Integer keys cost the bucket
    dictionaries far less than tuples of tuples."""
    sig = _minhash_cached(sh)
    rows = _NUM_PERM // _BANDS
    return tuple(hash((b, sig[b * rows : (b + 1) * rows])) for b in range(_BANDS))


def jaccard(a: Set[str], b: Set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def key_phrases(text: str, generic: frozenset[str] = frozenset()) -> tuple[set[str], set[str]]:
    """Distinctive (bigrams, trigrams) of content words: no stop words, no generic word in a
    bigram, at most one in a trigram. ``generic`` adds words (the brand's own name: every
    mention has it)."""
    words = [w.strip("'") for w in tokens(text)]
    content = [w for w in words if w and w not in STOP and len(w) > 2 and not w.isdigit()]
    plain = GENERIC | generic if generic else GENERIC
    weak = [w in plain for w in content]
    bigrams, trigrams = set(), set()
    for i in range(len(content) - 1):
        if not (weak[i] or weak[i + 1]):
            bigrams.add(f"{content[i]} {content[i + 1]}")
        if i + 2 < len(content) and weak[i] + weak[i + 1] + weak[i + 2] <= 1:
            trigrams.add(f"{content[i]} {content[i + 1]} {content[i + 2]}")
    return bigrams, trigrams


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


def group_incidents(
    members: Sequence[Member],
    *,
    window: timedelta = timedelta(hours=72),
    jaccard_min: float = 0.5,
    phrase_window: timedelta = timedelta(hours=24),
    max_postings: int = 500,
    names: Iterable[str] = (),
) -> list[Incident]:
    """Group ``members`` into incidents (see the module docstring); singletons included."""
    items = sorted(members, key=lambda m: (m.published_at, m.key))
    n = len(items)
    uf = _UnionFind(n)
    times = [m.published_at for m in items]

    def close(i: int, j: int, limit: timedelta = window) -> bool:
        return abs(times[i] - times[j]) <= limit

    def link_all(idx: Iterable[int], limit: timedelta = window) -> None:
        idx = sorted(idx)
        for a, b in itertools.pairwise(idx):
            if close(a, b, limit):
                uf.union(a, b)

    by_story: dict[str, list[int]] = defaultdict(list)
    for i, m in enumerate(items):
        if m.story_id is not None:
            by_story[f"s{m.story_id}"].append(i)
        if m.url:
            by_story[f"u{m.url}"].append(i)
        for item in item_keys(m.url, m.text):
            by_story[f"k{item}"].append(i)
    for idx in by_story.values():
        link_all(idx)

    texts = [story_text(m) for m in items]
    sh = [shingles(t) for t in texts]
    # Identical shingle sets (reposts, copypasta) are one class: linked along their timeline,
    # hashed once, and only the class's first post goes into the LSH buckets — so a wave of
    # identical posts costs linear time, not the square of its size.
    classes: dict[frozenset[str], list[int]] = defaultdict(list)
    for i, s in enumerate(sh):
        if len(s) >= 2:
            classes[frozenset(s)].append(i)
    for idx in classes.values():
        link_all(idx)
    buckets: dict[int, list[int]] = defaultdict(list)
    for key, idx in classes.items():
        for band in band_keys(key):
            buckets[band].append(idx[0])
    spans = {idx[0]: (idx[0], idx[-1]) for idx in classes.values()}

    def near(a: int, b: int) -> bool:
        # Closest members of two classes: the spans' nearest ends (items are time-sorted).
        (a0, a1), (b0, b1) = spans[a], spans[b]
        return close(a1, b0) if a1 <= b0 else close(b1, a0) if b1 <= a0 else True

    for idx in buckets.values():
        for a_pos, a in enumerate(idx[:max_postings]):
            for b in idx[a_pos + 1 : max_postings]:
                if uf.find(a) != uf.find(b) and near(a, b) and jaccard(sh[a], sh[b]) >= jaccard_min:
                    uf.union(a, b)

    generic = frozenset(t for name in names for t in tokens(name))
    bi_post: dict[str, list[int]] = defaultdict(list)
    tri_post: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(texts):
        bigrams, trigrams = key_phrases(t, generic)
        for p in bigrams:
            bi_post[p].append(i)
        for p in trigrams:
            tri_post[p].append(i)
    for idx in tri_post.values():
        if len(idx) > 1:
            link_all(idx, phrase_window)
    pair_counts: dict[tuple[int, int], int] = defaultdict(int)
    for idx in bi_post.values():
        if 1 < len(idx) <= max_postings // 10:
            for a_pos, a in enumerate(idx):
                for b in idx[a_pos + 1 :]:
                    pair_counts[(a, b)] += 1
    for (a, b), count in pair_counts.items():
        if count >= 2 and close(a, b, phrase_window):
            uf.union(a, b)

    groups: dict[int, list[Member]] = defaultdict(list)
    for i, m in enumerate(items):
        groups[uf.find(i)].append(m)
    incidents = [Incident(key=f"incident:{g[0].key}", members=g) for g in groups.values()]
    incidents.sort(key=lambda inc: inc.first_at)
    return incidents


def incident_input(incident: Incident) -> RiskInput:
    """The aggregate an incident's risk is assessed on (see the module docstring).

    Snapshots carry ``posts`` (the number of posts published by then), weighted by
    ``risk.engagement_weights.posts``, so a crowd of small posts shows up as velocity even when
    each post alone has none.
    """
    # The story's own posts (the core): a crowd that only resembles it adds no curve.
    members = sorted(incident.story, key=lambda m: (m.published_at, m.key))
    root = members[0]
    # One sweep over publications and snapshots in time order, keeping each member's latest
    # reading and the running totals: O((posts + snapshots) log) instead of re-summing every
    # member at every moment.
    metrics = ("likes", "shares", "comments", "views")
    events: list[tuple[datetime, int, int, Reading | None]] = []
    for i, m in enumerate(members):
        events.append((m.published_at, 0, i, None))
        for snap in m.snapshots:
            events.append((snap.at, 1, i, snap))
    # A member's snapshots keep their order, so among equal times its first reading stays
    # the latest (as ``max`` would pick).
    order = sorted(range(len(events)), key=lambda k: (events[k][0], k))
    published = [False] * len(members)
    latest: list[Reading | None] = [None] * len(members)
    totals = dict.fromkeys(metrics, 0)
    posts = 0
    snaps: list[Reading] = []

    def apply(reading: Reading | None, sign: int) -> None:
        if reading is None:
            return
        for metric in metrics:
            totals[metric] += sign * (reading.get(metric) or 0)

    pos = 0
    while pos < len(order):
        t = events[order[pos]][0]
        while pos < len(order) and events[order[pos]][0] == t:
            _, kind, i, reading = events[order[pos]]
            if kind == 0:
                published[i] = True
                posts += 1
                apply(latest[i], 1)
            else:
                prev = latest[i]
                assert reading is not None
                if prev is None or reading.at > prev.at:
                    if published[i]:
                        apply(prev, -1)
                        apply(reading, 1)
                    latest[i] = reading
            pos += 1
        snaps.append(
            Reading(
                at=t,
                likes=totals["likes"],
                shares=totals["shares"],
                comments=totals["comments"],
                views=totals["views"],
                posts=posts,
            )
        )

    def engaged(m: Member) -> int:
        last = max(m.snapshots, key=lambda s: s.at) if m.snapshots else None
        return (last.views or 0) // 50 + (last.likes or 0) + (last.shares or 0) if last else 0

    top = sorted(members, key=engaged, reverse=True)[:3]
    compound = min(m.compound for m in top)
    followers = max((m.author_followers or 0) for m in members) or None
    text = "\n".join(f"{m.title or ''} {m.text}" for m in members[:50])
    # The story's posts after the original are its shares: with their authors' audiences the
    # forecast is self-exciting (SEISMIC) instead of extrapolating the summed curve.
    shares = (
        [
            Share(age_h=(m.published_at - root.published_at).total_seconds() / 3600, followers=f)
            for m in members
            if (f := m.author_followers) is not None
        ]
        if len(members) >= MIN_SHARES and all(m.author_followers is not None for m in members)
        else []
    )
    return RiskInput(
        shares=shares,
        source=root.source,
        text=text,
        compound=compound,
        published_at=root.published_at,
        author_followers=followers,
        snapshots=snaps,
        spread_sources=incident.story_sources,
        spread_mentions=len(members),
        baseline_key="incident",
    )
