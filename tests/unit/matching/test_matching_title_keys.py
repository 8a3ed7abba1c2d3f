"""BrandMatcher builds a document's title key set only when some query has a title: term."""

from __future__ import annotations

from earful.config.models import BrandConfig
from earful.matching.matcher import MatchDoc, compile_brands


def test_title_terms_match_through_the_brand_matcher() -> None:
    matcher = compile_brands(
        [
            BrandConfig(name="Acme", queries=["title:acme", 'title:"acme bank"']),
            BrandConfig(name="Globex", queries=["globex"]),
        ]
    )
    assert matcher.match(MatchDoc("nothing here", title="Acme news")) == ["Acme"]
    assert matcher.match(MatchDoc("acme in the body", title="news")) == []
    assert matcher.match(MatchDoc("x", title="My Acme Bank story")) == ["Acme"]
    assert matcher.match(MatchDoc("x", title="globex")) == ["Globex"]


def test_without_title_queries_body_terms_still_read_the_title() -> None:
    matcher = compile_brands([BrandConfig(name="Acme", queries=['"acme bank"', "initech"])])
    assert not matcher._title_keys
    assert matcher.match(MatchDoc("nothing", title="Acme Bank fails")) == ["Acme"]
    assert matcher.match(MatchDoc("nothing", title="Initech")) == ["Acme"]
    assert matcher.match(MatchDoc("acme", title="bank")) == []
