"""The incremental brand window groups as the full regrouping does, at a repost wave's size."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from earful.risk.incidents import Member, group_incidents
from earful.risk.window import BrandWindow

T0 = datetime(2009, 7, 6, 17, tzinfo=UTC)
NAMES = ("United Airlines", "United")


def _m(i: int, text: str, hours: float, **kw: object) -> Member:
    return Member(
        key=f"twitter:{i}",
        source="twitter",
        text=text,
        published_at=T0 + timedelta(hours=hours),
        mention_id=i,
        **kw,  # type: ignore[arg-type]
    )


def _window() -> BrandWindow:
    return BrandWindow(
        window=timedelta(hours=72),
        phrase_window=timedelta(hours=24),
        jaccard_min=0.5,
        names=NAMES,
    )


def _partition(groups: list[list[Member]]) -> set[frozenset[str]]:
    return {frozenset(m.key for m in g) for g in groups}


def test_adding_one_by_one_gives_the_full_grouping() -> None:
    rnd = random.Random(7)
    texts = [
        "United Breaks Guitars: my Taylor guitar was thrown by baggage handlers",
        "RT @sonsofmaxwell United Breaks Guitars: my Taylor guitar was thrown by baggage handlers",
        "Singer's video United Breaks Guitars spreads online",
        "United Airlines flight delayed 3 hours, worst customer service",
        "United Airlines lost my bag in Denver again",
        "Great crew on my United flight to Boston today",
        "Watch this: Taylor guitar thrown by baggage handlers at O'Hare",
    ]
    members = [
        _m(i, rnd.choice(texts), rnd.uniform(0, 100), story_id=rnd.choice([None, None, 1, 2]))
        for i in range(1, 60)
    ]
    state = _window()
    for m in members:
        state.add(m)
    since = T0 - timedelta(hours=1)
    incremental = _partition(
        [state.incident(m.mention_id or 0, since=since).members for m in members]
    )
    full = _partition([inc.members for inc in group_incidents(members, names=NAMES)])
    assert incremental == full


def test_a_wave_of_identical_reposts_is_one_incident_keyed_by_the_original() -> None:
    text = "United staff left my grandmother's wheelchair on the jet bridge for three hours"
    state = _window()
    state.add(_m(1, text, 0))
    for i in range(2, 3002):
        state.add(_m(i, f"RT @granddaughter: {text}", i / 1000))
    state.add(_m(9999, "United Airlines lost my bag in Denver again", 1))
    incident = state.incident(3001, since=T0)
    assert len(incident.members) == 3001
    assert incident.key == "incident:twitter:1"
    assert len(state.incident(9999, since=T0).members) == 1


def test_an_engagement_update_replaces_the_member_but_keeps_its_links() -> None:
    state = _window()
    state.add(_m(1, "United Breaks Guitars: my Taylor guitar was thrown", 0, story_id=3))
    state.add(_m(2, "A different text about the story", 1, story_id=3))
    updated = _m(2, "A different text about the story", 1, story_id=3, author_followers=99)
    state.add(updated)
    members = state.incident(1, since=T0).members
    assert [m.author_followers for m in members] == [None, 99]


def test_an_old_post_with_new_engagement_stays_in_its_incident() -> None:
    state = _window()
    state.add(_m(1, "United Breaks Guitars: the video", 0, story_id=4), seen_at=T0)
    state.add(_m(2, "Blog post about the guitar video", 60, story_id=4), seen_at=T0)
    since = T0 + timedelta(hours=10)
    assert [m.key for m in state.incident(2, since=since).members] == ["twitter:2"]
    state.add(_m(1, "United Breaks Guitars: the video", 0, story_id=4), seen_at=since)
    assert state.incident(2, since=since).key == "incident:twitter:1"


def test_a_crowd_with_the_same_everyday_problem_has_no_story_core() -> None:
    # Different people, same ordinary problem: they resemble each other (one incident), but
    # none refers to another post, so the story's own spread is one post, not the crowd.
    state = _window()
    cities = ["Denver", "Boston", "Newark", "Houston", "Miami", "Dallas", "Seattle"]
    for i, city in enumerate(cities, start=1):
        state.add(_m(i, f"United lost my checked bag again, on hold about the bag in {city}", i))
    incident = state.incident(len(cities), since=T0)
    assert len(incident.members) == len(cities)
    assert len(incident.story) == 1


def test_reposts_and_links_to_one_video_make_its_core() -> None:
    state = _window()
    state.add(_m(1, "United Breaks Guitars https://youtu.be/5YGc4zOqozo", 0))
    state.add(_m(2, "RT @fan: United Breaks Guitars https://youtu.be/5YGc4zOqozo", 1))
    state.add(_m(3, "you have to see https://www.youtube.com/watch?v=5YGc4zOqozo", 2))
    state.add(_m(4, "United Airlines lost my bag in Denver again", 3))
    incident = state.incident(3, since=T0)
    assert sorted(m.mention_id or 0 for m in incident.story) == [1, 2, 3]


def test_posts_naming_a_video_by_its_title_join_its_core() -> None:
    state = _window()
    state.add(_m(2, "Just watched United Breaks Guitars, never checking a guitar again", 2))
    state.add(_m(1, "In 2008 my guitar was broken", 0, title="United Breaks Guitars"))
    state.add(_m(3, "United Breaks Guitars is the best complaint ever", 3))
    incident = state.incident(1, since=T0)
    assert sorted(m.mention_id or 0 for m in incident.story) == [1, 2, 3]


def test_an_incident_assessment_is_reused_until_its_story_grows_ages_or_gets_readings() -> None:
    from earful.mention import Reading

    state = _window()
    text = "United staff left my grandmother's wheelchair on the jet bridge for three hours"
    state.add(_m(1, text, 0))
    for i in range(2, 42):
        state.add(_m(i, f"RT @granddaughter: {text}", i / 100))
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    step = timedelta(minutes=2)
    at = T0 + timedelta(hours=1)
    assert state.cached(state.incident(41, since=T0), at, compute, step=step) == 1
    # One more repost (under a twentieth more posts), a minute later: the same assessment.
    state.add(_m(42, f"RT @granddaughter: {text}", 0.5))
    assert state.cached(state.incident(42, since=T0), at + step / 2, compute, step=step) == 1
    # New engagement on a post already in the story: computed again.
    reading = Reading(at=at, likes=500)
    state.add(_m(1, text, 0, snapshots=[reading, reading]))
    assert state.cached(state.incident(1, since=T0), at + step / 2, compute, step=step) == 2
    # Aged by more than a twentieth of the story's age (one hour): computed again.
    later = at + timedelta(minutes=6)
    assert state.cached(state.incident(1, since=T0), later, compute, step=step) == 3
    # A tenth more posts: computed again.
    for i in range(43, 48):
        state.add(_m(i, f"RT @granddaughter: {text}", 0.6))
    assert state.cached(state.incident(47, since=T0), later, compute, step=step) == 4
