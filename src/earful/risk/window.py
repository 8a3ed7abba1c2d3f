"""Per-brand window state: incident grouping kept up to date event by event.

Contract: a :class:`BrandWindow` holds one brand's recent members and the links between them
(the rules of ``earful.risk.incidents``: same story or URL, identical or near-duplicate text,
shared key phrases) in a union–find. :meth:`BrandWindow.add` costs the new member's own
features plus its postings — never the whole window — and :meth:`BrandWindow.incident` hands
back the incident of a member as :func:`earful.risk.incidents.group_incidents` would group it.

Differences from a full regrouping, by design: a phrase posting that grows past
``phrase_cap`` posts stops making new links but keeps the ones it made while it was small,
and members that leave the window keep their links until the next rebuild (once per
window, see ``stale``). The state is derived only from stored rows, so a restarted process
rebuilds the same groups from the database.
"""

from __future__ import annotations

import bisect
import itertools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TypeVar

from earful.risk.incidents import (
    Incident,
    Member,
    band_keys,
    jaccard,
    key_phrases,
    shingles,
    story_text,
    tokens,
)
from earful.risk.references import item_keys

logger = logging.getLogger(__name__)
T = TypeVar("T")
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Features:
    shingles: frozenset[str]
    bigrams: frozenset[str]
    trigrams: frozenset[str]


@lru_cache(maxsize=65536)
def _features(text: str, generic: frozenset[str]) -> _Features:
    """A text's shingles and key phrases; cached, because a rebuild adds the same texts again."""
    bigrams, trigrams = key_phrases(text, generic)
    return _Features(frozenset(shingles(text)), frozenset(bigrams), frozenset(trigrams))


def _opens(text: str, title: str) -> bool:
    """Whether ``title`` is the beginning of ``text`` (ignoring case, spacing and a trailing
    ellipsis)."""
    head = " ".join(title.lower().rstrip(" .…").split())
    return bool(head) and " ".join(text.lower().split()).startswith(head)


_Entry = tuple[datetime, str, int]
# Members of a group whose last scores ``BrandWindow.top`` keeps.
_TOP_KEPT = 8


def _merge(big: list[_Entry], small: list[_Entry]) -> list[_Entry]:
    """``small`` merged into the sorted ``big`` (in place when small is a few entries)."""
    if len(small) <= 8:
        for entry in small:
            bisect.insort(big, entry)
        return big
    merged = big + small
    merged.sort()  # two sorted runs: timsort merges them in linear time
    return merged


@dataclass(slots=True)
class BrandWindow:
    """The grouping state of one brand's window (see the module docstring)."""

    window: timedelta
    phrase_window: timedelta
    jaccard_min: float
    names: tuple[str, ...] = ()
    # Texts at least this similar are copies of one text (core links, see ``Incident``).
    copy_jaccard: float = 0.9
    # Classes of one LSH bucket a new class is compared with (the most recent ones).
    bucket_recent: int = 8
    # A phrase already shared by this many posts is the brand's everyday vocabulary (many
    # people with the same ordinary problem), not one story: it makes no more links.
    phrase_cap: int = 50
    built_from: datetime | None = None
    # The newest annotation (``mention_state.updated_at``) the members reflect.
    annotated_at: datetime = _NEVER
    max_mention_id: int = 0
    max_snapshot_id: int = 0
    members: dict[int, Member] = field(default_factory=dict)
    last_risk: dict[int, float] = field(default_factory=dict)
    # When each member was last stored or updated: an old post still spreading (new
    # engagement) stays in the window, as the database's ``updated_at`` keeps it in a rebuild.
    seen_at: dict[int, datetime] = field(default_factory=dict)
    _parent: dict[int, int] = field(default_factory=dict)
    # Each group's members as (published_at, key, id), kept sorted as members arrive and
    # groups merge: reading an incident is a bisect and a slice, not a sort of the group.
    _groups: dict[int, list[_Entry]] = field(default_factory=dict)
    # The reference links only (same item, repost, copy): the incident's core (see
    # ``Incident``), with each core's sorted entries. ``_multi``: per group, the roots of
    # its cores of two or more members (the others are single posts).
    _sparent: dict[int, int] = field(default_factory=dict)
    _cores: dict[int, list[_Entry]] = field(default_factory=dict)
    _multi: dict[int, set[int]] = field(default_factory=dict)
    # Members marked irrelevant or spam (they leave their incidents).
    _excluded: set[int] = field(default_factory=set)
    # Per group, the members that scored highest so far (id -> risk, a few).
    _top: dict[int, dict[int, float]] = field(default_factory=dict)
    _chains: dict[object, list[tuple[datetime, int]]] = field(default_factory=dict)
    _buckets: dict[int, list[int]] = field(default_factory=dict)
    _class_of: dict[int, frozenset[str]] = field(default_factory=dict)
    _bigrams: dict[str, list[int]] = field(default_factory=dict)
    # Key phrases of titles (a video's, an article's): a post that names an item by its title
    # refers to it, as a link would.
    _titles: set[str] = field(default_factory=set)
    # incident key -> (what it was computed on, the incident's assessment): see ``cached``.
    _assessed: dict[str, tuple[tuple[str, int, int, datetime], object]] = field(
        default_factory=dict
    )
    _generic: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self._generic = frozenset(t for name in self.names for t in tokens(name))

    def stale(self, now: datetime) -> bool:
        """Members that left the window still link others: rebuild once the oldest member is
        a whole window outside it (a rebuild costs the window's size once per window, so each
        event pays for about one more member's worth)."""
        return self.built_from is None or now - self.window - self.built_from > self.window

    # -- union–find over mention ids -------------------------------------------------------

    def _find(self, i: int) -> int:
        parent = self._parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def _sfind(self, i: int) -> int:
        parent = self._sparent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def _sunion(self, a: int, b: int) -> None:
        """Link two core members (every core link is a group link too)."""
        self._union(a, b)
        ra, rb = self._sfind(a), self._sfind(b)
        if ra == rb:
            return
        if len(self._cores[ra]) < len(self._cores[rb]):
            ra, rb = rb, ra
        self._sparent[rb] = ra
        self._cores[ra] = _merge(self._cores[ra], self._cores.pop(rb))
        multi = self._multi[self._find(a)]
        multi.discard(rb)
        multi.add(ra)

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
        ga, gb = self._groups[ra], self._groups.pop(rb)
        self._groups[ra] = _merge(ga, gb) if len(ga) >= len(gb) else _merge(gb, ga)
        self._multi[ra] |= self._multi.pop(rb)
        top = self._top.pop(rb, None)
        if top:
            self._top.setdefault(ra, {}).update(top)
            self._trim_top(ra)
        self._parent[rb] = ra

    # -- adding members ---------------------------------------------------------------------

    def _chain(
        self, key: object, mid: int, at: datetime, limit: timedelta, *, refers: bool = False
    ) -> None:
        """Insert ``mid`` in the time-sorted chain ``key``; link its neighbours within
        ``limit`` (linking sorted neighbours is what the full grouping does); ``refers``:
        the chain is one item or text, so the links are core links too."""
        chain = self._chains.setdefault(key, [])
        pos = bisect.bisect(chain, (at, mid))
        for near in (pos - 1, pos):
            if 0 <= near < len(chain) and abs(chain[near][0] - at) <= limit:
                self._union(mid, chain[near][1])
                if refers:
                    self._sunion(mid, chain[near][1])
        chain.insert(pos, (at, mid))

    def add(self, member: Member, *, seen_at: datetime | None = None) -> None:
        """Add a member, or replace a known one's engagement and sentiment (its text, and so
        its links, stay as first seen); ``seen_at``: when it was stored or updated."""
        mid = member.mention_id
        assert mid is not None
        self.seen_at[mid] = max(
            seen_at or member.published_at, self.seen_at.get(mid, seen_at or member.published_at)
        )
        if member.excluded:
            self._excluded.add(mid)
        else:
            self._excluded.discard(mid)
        if mid in self.members:
            self.members[mid] = member
            return
        self.members[mid] = member
        self.max_mention_id = max(self.max_mention_id, mid)
        self._parent[mid] = mid
        entry = (member.published_at, member.key, mid)
        self._groups[mid] = [entry]
        self._multi[mid] = set()
        self._sparent[mid] = mid
        self._cores[mid] = [entry]
        at = member.published_at
        if member.story_id is not None:
            self._chain(f"s{member.story_id}", mid, at, self.window, refers=True)
        # Its own canonical URL is one of its items: posts of one URL are one story.
        for item in item_keys(member.url, member.text):
            self._chain(f"k{item}", mid, at, self.window, refers=True)
        feats = _features(story_text(member), self._generic)
        if len(feats.shingles) >= 2:
            self._near_duplicates(mid, at, feats.shingles)
        cap = self.phrase_cap
        named = self._title_phrases(member)
        for phrase in feats.trigrams:
            chain = self._chains.get(f"t{phrase}")
            if chain is None or len(chain) < cap:
                self._chain(f"t{phrase}", mid, at, self.phrase_window, refers=phrase in named)
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

    def _title_phrases(self, member: Member) -> set[str]:
        """The title phrases known once ``member`` is added (a title that is its text's own
        beginning — a forum thread's, a feed item's — names nothing beyond the post). A
        phrase that has just become a title's also makes core links between the posts that
        used it before (once: at most ``phrase_cap`` of them)."""
        if member.title and not _opens(member.text, member.title):
            for phrase in _features(member.title, self._generic).trigrams - self._titles:
                self._titles.add(phrase)
                chain = self._chains.get(f"t{phrase}", [])
                for (a_at, a), (b_at, b) in itertools.pairwise(chain):
                    if b_at - a_at <= self.phrase_window:
                        self._sunion(a, b)
        return self._titles

    def _near_duplicates(self, mid: int, at: datetime, sh: frozenset[str]) -> None:
        """Identical texts share one class (a chain); a new class is compared, once, by exact
        Jaccard with the most recent classes of its LSH buckets only — a bucket of templated
        everyday posts (thousands of look-alikes) costs ``bucket_recent`` comparisons, not its
        size."""
        key = ("class", sh)
        known = key in self._chains
        self._chain(key, mid, at, self.window, refers=True)
        if known:
            return
        self._class_of[mid] = sh
        recent = self.bucket_recent
        buckets = [self._buckets.setdefault(band, []) for band in band_keys(sh)]
        # Each class once, however many of its buckets it shares (look-alikes share most).
        reps = dict.fromkeys(rep for bucket in buckets for rep in reversed(bucket[-recent:]))
        for bucket in buckets:
            bucket.append(mid)
            if len(bucket) > 2 * recent:  # only the most recent are ever compared
                del bucket[:-recent]
        for rep in reps:
            if self._find(rep) == self._find(mid):
                continue
            other = self._class_of[rep]
            times = self._chains[("class", other)]
            near = min(abs(times[0][0] - at), abs(times[-1][0] - at))
            if near <= self.window:
                similarity = jaccard(sh, other)
                if similarity >= self.jaccard_min:
                    self._union(mid, rep)
                if similarity >= self.copy_jaccard:
                    self._sunion(mid, rep)

    # -- reading incidents ------------------------------------------------------------------

    def cached(
        self, incident: Incident, now: datetime, compute: Callable[[], T], *, step: timedelta
    ) -> T:
        """The incident's assessment, recomputed only when its story grew by a twentieth (or
        changed core), got new engagement readings, or aged by a twentieth (at least
        ``step``): a wave of thousands of reposts, or a crowd of everyday posts trickling in
        for days, costs a few hundred aggregate curves, not one per post (each costs the
        story's size). Scores move with the logarithm of age, so what a page says is never
        staler than a twentieth of the story's age or of its posts."""
        story = incident.story
        # Readings after each post's first (taken when it was stored: that one is growth).
        readings = sum(max(len(m.snapshots) - 1, 0) for m in story)
        known = self._assessed.get(incident.key)
        if known is not None:
            (root, size, seen, then), value = known
            if (
                root == story[0].key
                and len(story) <= size + size // 20
                and readings == seen
                and then <= now <= then + max(step, (then - incident.first_at) / 20)
            ):
                return value  # type: ignore[return-value]
        value = compute()
        self._assessed[incident.key] = ((story[0].key, len(story), readings, now), value)
        return value

    def root_of(self, mid: int) -> int:
        """The group ``mid`` belongs to (its root's id): members with one root share an
        incident."""
        return self._find(mid)

    def note_risk(self, mid: int, risk: float) -> None:
        """Remember a member's latest score (its group's best ones are judged again later)."""
        self.last_risk[mid] = risk
        root = self._find(mid)
        self._top.setdefault(root, {})[mid] = risk
        self._trim_top(root)

    def _trim_top(self, root: int) -> None:
        top = self._top[root]
        while len(top) > _TOP_KEPT:
            del top[min(top, key=top.__getitem__)]

    def best_before(self, incident: Incident, n: int = 3) -> list[Member]:
        """The incident's ``n`` members that scored highest when last judged."""
        first = incident.members[0].mention_id or 0
        top = self._top.get(self._find(first), {})
        ids = {m.mention_id for m in incident.members} if top else set()
        best = sorted((i for i in top if i in ids), key=lambda i: -top[i])[:n]
        return [self.members[i] for i in best]

    def _windowed(self, entries: list[_Entry], given: set[int], since: datetime) -> list[int]:
        """The ids of ``entries`` published or seen since ``since``, not excluded (the given
        ones always), in order."""
        pos = bisect.bisect_left(entries, (since,))
        seen, excluded = self.seen_at, self._excluded
        ids = [
            i
            for _, _, i in entries[:pos]
            if i in given or (i not in excluded and seen.get(i, _NEVER) >= since)
        ]
        if excluded:
            ids += [i for _, _, i in entries[pos:] if i in given or i not in excluded]
        else:
            ids += [i for _, _, i in entries[pos:]]
        return ids

    def incident(self, mid: int | Iterable[int], *, since: datetime) -> Incident:
        """The incident of member ``mid`` (or of several members of one group): the group's
        members published or updated since ``since`` (the given members always included),
        earliest first; its core is the largest set of them that refer to one item (ties:
        the earliest)."""
        given = {mid} if isinstance(mid, int) else set(mid)
        root = self._find(next(iter(given)))
        ids = self._windowed(self._groups[root], given, since)
        members = [self.members[i] for i in ids]
        key = f"incident:{members[0].key}"
        if len(members) == 1:
            return Incident(key=key, members=members, core=members)
        # The largest core (ties: the one whose first post is earliest); single posts are
        # cores of one, so with no larger core the earliest post is the core.
        best: tuple[int, datetime, str] = (-1, members[0].published_at, members[0].key)
        core = members[:1]
        winner: list[int] | None = None
        for croot in self._multi[root]:
            entries = self._cores[croot]
            if not self._excluded and entries[0][0] >= since:
                # All of it is in the window: its size and first post without a copy.
                size, (at, first_key, _) = len(entries), entries[0]
                cids = None
            else:
                cids = self._windowed(entries, given, since)
                if not cids:
                    continue
                size, at, first_key = len(cids), *self._order(cids[0])
            if (-size, at, first_key) < (-best[0], best[1], best[2]):
                best = (size, at, first_key)
                winner = cids if cids is not None else [i for _, _, i in entries]
        if winner is not None:
            core = [self.members[i] for i in winner]
        return Incident(key=key, members=members, core=core)
