"""Incidents: one story across sources, grouped by story, near-duplicates and key phrases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from earful.config.risk import RiskConfig
from earful.mention import Reading
from earful.risk.incidents import Member, group_incidents, incident_input, key_phrases
from earful.risk.scoring import assess

T0 = datetime(2009, 7, 6, 17, tzinfo=UTC)


def _m(key: str, text: str, hours: float, source: str = "twitter", **kw: object) -> Member:
    return Member(
        key=key,
        source=source,
        text=text,
        published_at=T0 + timedelta(hours=hours),
        **kw,  # type: ignore[arg-type]
    )


def test_groups_story_near_duplicates_and_key_phrases_but_not_generic_complaints() -> None:
    members = [
        _m(
            "yt:1",
            "United Breaks Guitars: my Taylor guitar was thrown by baggage handlers",
            0,
            "youtube",
        ),
        _m("tw:1", "RT United Breaks Guitars: my Taylor guitar was thrown by baggage handlers", 2),
        _m("news:1", "Singer's video United Breaks Guitars spreads online", 20, "news"),
        _m("blog:1", "Story of the week", 5, "blog", story_id=7),
        _m("blog:2", "Another take on the story", 6, "forum", story_id=7),
        _m("tw:2", "United Airlines flight delayed 3 hours, worst customer service", 1),
        _m("tw:3", "United Airlines flight delayed 2 hours, customer service useless", 3),
    ]
    incidents = group_incidents(members, names=["United Airlines", "United"])
    by_member = {m.key: inc.key for inc in incidents for m in inc.members}
    assert by_member["yt:1"] == by_member["tw:1"] == by_member["news:1"]
    assert by_member["blog:1"] == by_member["blog:2"] != by_member["yt:1"]
    assert by_member["tw:2"] != by_member["tw:3"]
    ubg = next(i for i in incidents if i.key == by_member["yt:1"])
    assert ubg.root().key == "yt:1" and ubg.sources == ["news", "twitter", "youtube"]


def test_window_limits_grouping() -> None:
    members = [
        _m("a", "United Breaks Guitars is a great song", 0),
        _m("b", "United Breaks Guitars is a great song", 24 * 10),
    ]
    assert len(group_incidents(members, window=timedelta(hours=72))) == 2


def test_key_phrases_skip_stop_and_brand_words() -> None:
    bigrams, trigrams = key_phrases(
        "because United Airlines broke my Taylor guitar", frozenset({"united"})
    )
    assert "taylor guitar" in bigrams
    assert not any(p.startswith("because") for p in trigrams)


def test_forty_small_posts_add_up() -> None:
    posts = [
        _m(f"tw:{i}", f"United broke a guitar and will not pay, post {i}", i * 0.1, compound=-0.5)
        for i in range(40)
    ]
    incident = group_incidents(posts)[0]
    assert len(incident.members) == 40
    now = T0 + timedelta(hours=4)
    alone = assess(incident_input(type(incident)(incident.key, posts[:1])), now, RiskConfig())
    together = assess(incident_input(incident), now, RiskConfig())
    assert together.risk > alone.risk + 20
    spread = next(r for r in together.reasons if r.factor == "velocity")
    assert "posts" in spread.detail


def test_incident_input_sums_engagement() -> None:
    a = _m("a", "x", 0, snapshots=[Reading(at=T0 + timedelta(hours=1), likes=10)])
    b = _m("b", "x", 0.5, snapshots=[Reading(at=T0 + timedelta(hours=1), likes=5, views=100)])
    agg = incident_input(type(group_incidents([a])[0])("k", [a, b]))
    last = agg.snapshots[-1]
    assert (last.likes, last.views, last.posts) == (15, 100, 2)


def test_a_story_of_reposts_with_known_audiences_is_read_as_a_cascade() -> None:
    from earful.risk.incidents import Incident

    posts = [_m(f"p{i}", "RT @a: x", i / 10, author_followers=100 * (i + 1)) for i in range(6)]
    shares = incident_input(Incident("k", posts)).shares
    assert [(round(s.age_h, 1), s.followers) for s in shares] == [
        (i / 10, 100 * (i + 1)) for i in range(6)
    ]
    # One author with an unknown audience, or too few posts: no cascade to read.
    unknown = [*posts[:5], _m("p9", "RT @a: x", 1, author_followers=None)]
    assert incident_input(Incident("k", unknown)).shares == []
    assert incident_input(Incident("k", posts[:4])).shares == []
