"""Per-brand window state: incident grouping kept up to date event by event.

Contract: a :class:`BrandWindow` holds one brand's recent members and the links between them
(the rules of ``earful.risk.incidents``: same story or URL, identical or near-duplicate text,
shared key phrases) in a union–find. :meth:`BrandWindow.add` costs the new member's own
features plus its postings — never the whole window — and :meth:`BrandWindow.incident` hands
back the incident of a member as :func:`earful.risk.incidents.group_incidents` would group it.

Differences from a full regrouping, by design: a phrase posting that grows past
``phrase_cap`` posts stops making new links but keeps the ones it made while it was small,
and members that leave the window keep their links until the next rebuild (every quarter
window, see ``stale``). The state is derived only from stored rows, so a restarted process
rebuilds the same groups from the database.
"""

from __future__ import annotations

import bisect
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from earful.risk.incidents import (
    _BANDS,
    _NUM_PERM,
    Incident,
    Member,
    _minhash_cached,
    jaccard,
    key_phrases,
    shingles,
    tokens,
)

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Features:
    shingles: frozenset[str]
    bigrams: set[str]
    trigrams: set[str]


@dataclass(slots=True)
class BrandWindow:
    """The grouping state of one brand's window (see the module docstring)."""

    window: timedelta
    phrase_window: timedelta
    jaccard_min: float
    names: tuple[str, ...] = ()
    max_postings: int = 500
    # A phrase already shared by this many posts is the brand's everyday vocabulary (many
    # people with the same ordinary problem), not one story: it makes no more links.
    phrase_cap: int = 50
    built_from: datetime | None = None
    max_mention_id: int = 0
    max_snapshot_id: int = 0
    members: dict[int, Member] = field(default_factory=dict)
    last_risk: dict[int, float] = field(default_factory=dict)
    # When each member was last stored or updated: an old post still spreading (new
    # engagement) stays in the window, as the database's ``updated_at`` keeps it in a rebuild.
    seen_at: dict[int, datetime] = field(default_factory=dict)
    _parent: dict[int, int] = field(default_factory=dict)
    _groups: dict[int, set[int]] = field(default_factory=dict)
    _chains: dict[object, list[tuple[datetime, int]]] = field(default_factory=dict)
    _buckets: dict[tuple[int, tuple[int, ...]], list[int]] = field(default_factory=dict)
    _class_of: dict[int, frozenset[str]] = field(default_factory=dict)
    _bigrams: dict[str, list[int]] = field(default_factory=dict)
    _generic: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self._generic = frozenset(t for name in self.names for t in tokens(name))

    def stale(self, now: datetime) -> bool:
        """Members that left the window still link others: rebuild every quarter window."""
        return self.built_from is None or now - self.window - self.built_from > self.window / 4

    # -- union–find over mention ids -------------------------------------------------------

    def _find(self, i: int) -> int:
        parent = self._parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def _order(self, i: int) -> tuple[datetime, str]:
        m = self.members[i]
        return (m.published_at, m.key)

    def _union(self, a: int, b: int) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra == rb:
            return
        # The earliest post of a group is its root, so its key names the incident.
        if self._order(rb) < self._order(ra):
            ra, rb = rb, ra
        if len(self._groups[ra]) < len(self._groups[rb]):
            self._groups[rb] |= self._groups.pop(ra)
            self._groups[ra] = self._groups.pop(rb)
        else:
            self._groups[ra] |= self._groups.pop(rb)
        self._parent[rb] = ra

    # -- adding members ---------------------------------------------------------------------

    def _chain(self, key: object, mid: int, at: datetime, limit: timedelta) -> list[int]:
        """Insert ``mid`` in the time-sorted chain ``key``; link its neighbours within
        ``limit`` (linking sorted neighbours is what the full grouping does)."""
        chain = self._chains.setdefault(key, [])
        pos = bisect.bisect(chain, (at, mid))
        for near in (pos - 1, pos):
            if 0 <= near < len(chain) and abs(chain[near][0] - at) <= limit:
                self._union(mid, chain[near][1])
        chain.insert(pos, (at, mid))
        return [m for _, m in chain]

    def add(self, member: Member, *, seen_at: datetime | None = None) -> None:
        """Add a member, or replace a known one's engagement and sentiment (its text, and so
        its links, stay as first seen); ``seen_at``: when it was stored or updated."""
        mid = member.mention_id
        assert mid is not None
        self.seen_at[mid] = max(
            seen_at or member.published_at, self.seen_at.get(mid, seen_at or member.published_at)
        )
        if mid in self.members:
            self.members[mid] = member
            return
        self.members[mid] = member
        self.max_mention_id = max(self.max_mention_id, mid)
        self._parent[mid] = mid
        self._groups[mid] = {mid}
        at = member.published_at
        if member.story_id is not None:
            self._chain(f"s{member.story_id}", mid, at, self.window)
        if member.url:
            self._chain(f"u{member.url}", mid, at, self.window)
        text = f"{member.title or ''} {member.text}"
        feats = _Features(frozenset(shingles(text)), *key_phrases(text, self._generic))
        if len(feats.shingles) >= 2:
            self._near_duplicates(mid, at, feats.shingles)
        cap = self.phrase_cap
        for phrase in feats.trigrams:
            chain = self._chains.get(f"t{phrase}")
            if chain is None or len(chain) < cap:
                self._chain(f"t{phrase}", mid, at, self.phrase_window)
        shared: dict[int, int] = defaultdict(int)
        for phrase in feats.bigrams:
            posting = self._bigrams.setdefault(phrase, [])
            if len(posting) < cap:
                for other in posting:
                    shared[other] += 1
                posting.append(mid)
        for other, count in shared.items():
            if count >= 2 and abs(self.members[other].published_at - at) <= self.phrase_window:
                self._union(mid, other)

    def _near_duplicates(self, mid: int, at: datetime, sh: frozenset[str]) -> None:
        """Identical texts share one class (a chain); a new class is compared by exact
        Jaccard with the classes in its LSH buckets only."""
        key = ("class", sh)
        known = key in self._chains
        self._chain(key, mid, at, self.window)
        if known:
            return
        self._class_of[mid] = sh
        sig = _minhash_cached(sh)
        rows = _NUM_PERM // _BANDS
        for b in range(_BANDS):
            bucket = self._buckets.setdefault((b, sig[b * rows : (b + 1) * rows]), [])
            for rep in bucket[: self.max_postings]:
                if self._find(rep) == self._find(mid):
                    continue
                other = self._class_of[rep]
                times = self._chains[("class", other)]
                near = min(abs(times[0][0] - at), abs(times[-1][0] - at))
                if near <= self.window and jaccard(set(sh), set(other)) >= self.jaccard_min:
                    self._union(mid, rep)
            bucket.append(mid)

    # -- reading incidents ------------------------------------------------------------------

    def incident(self, mid: int, *, since: datetime) -> Incident:
        """The incident of member ``mid``: its group's members published or updated since
        ``since`` (the member itself always included), earliest first."""
        group = self._groups[self._find(mid)]
        members = [
            self.members[i]
            for i in group
            if i == mid
            or self.members[i].published_at >= since
            or self.seen_at.get(i, self.members[i].published_at) >= since
        ]
        members.sort(key=lambda m: (m.published_at, m.key))
        return Incident(key=f"incident:{members[0].key}", members=members)
