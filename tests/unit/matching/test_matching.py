"""The brand query language: semantics by example, errors with positions, BrandMatcher."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from earful.config.models import BrandConfig
from earful.errors import ConfigError
from earful.matching.matcher import (
    BrandMatcher,
    MatchDoc,
    QuerySyntaxError,
    compile_brands,
    compile_query,
)
from earful.mention import RawMention

UNITED = (
    '"united airlines" OR @united OR (united AND (flight OR baggage OR gate)) -"manchester united"'
)


def matches(query: str, text: str, **fields: str | None) -> bool:
    return compile_query(query).matches(MatchDoc(text, **fields))


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # words, case, word boundaries
        ("united", "I flew UNITED today", True),
        ("united", "we reunited at the gate", False),
        ("united", "united's app crashed", True),
        ("united", "Unitedly we stand", False),
        ("boeing 737", "a 737 built by Boeing", True),  # implicit AND, any order
        ("boeing 737", "a 737 built by Airbus", False),
        ("737-800", "the 737 800 was late", True),  # punctuation inside a word separates
        # phrases
        ('"united airlines"', "United Airlines lost my bag", True),
        ('"united airlines"', "Airlines like United", False),
        ('"united airlines"', "United-Airlines!", True),
        ('"united airlines"', "united\nairlines", True),
        ("“united airlines”", "United Airlines", True),  # typographic quotes
        # AND / OR / NOT precedence: NOT > AND > OR
        ("a OR b c", "a", True),
        ("a OR b c", "b", False),
        ("a OR b c", "b c", True),
        ("a AND b OR c", "c", True),
        ("a AND b OR c", "a", False),
        ("a AND (b OR c)", "c", False),
        ("a AND (b OR c)", "a c", True),
        ("NOT a b", "b", True),
        ("NOT a b", "a b", False),
        ("a NOT b OR c", "a b c", True),  # (a AND NOT b) OR c
        ("a AND NOT b", "a b", False),
        ("NOT NOT a", "a", True),
        ("and or", "and or", True),  # lowercase operators are plain words
        ("and or", "or", False),
        # exclusions apply to the group they stand in
        ("a OR b -c", "b c", False),
        ("a OR b -c", "b", True),
        ("(a -c) OR b", "b c", True),
        ("(a -c) OR b", "a c", False),
        ('united -"manchester united"', "Manchester United lost", False),
        ('united -"manchester united"', "United lost my bag in Manchester", True),
        ("-spam united", "united", True),
        # NEAR/n: at most n words between, either order
        ("a NEAR/2 b", "a b", True),
        ("a NEAR/2 b", "a x y b", True),
        ("a NEAR/2 b", "a x y z b", False),
        ("a NEAR/2 b", "b x y a", True),
        ("a NEAR/0 b", "b a", True),
        ("a NEAR/0 b", "a x b", False),
        ('"lost bag" NEAR/1 united', "united really lost bag", True),
        ('"lost bag" NEAR/1 united', "lost bag and then united", False),
        ("united NEAR/3 (bag OR luggage)", "united broke my luggage", True),
        ("united NEAR/3 (bag OR luggage)", "united is fine. my friend had lost his luggage", False),
        ("a NEAR/1 b NEAR/1 c", "a b c", True),
        ("a NEAR/1 b NEAR/1 c", "a b x x x c", False),
        # handles, hashtags, tickers
        ("@united", "thanks @United for nothing", True),
        ("@united", "flew united", False),
        ("@united", "mail me at bob@united.com", False),
        ("@united", "@unitedairlines please", False),
        ("united", "thanks @united", True),
        ("#unitedbreaksguitars", "#UnitedBreaksGuitars is back", True),
        ("unitedbreaksguitars", "#UnitedBreaksGuitars is back", True),
        ("$ual", "$UAL down 5%", True),
        # Unicode: casefold, compatibility forms, accents
        ("straße", "STRASSE gesperrt", True),
        ("united", "ＵＮＩＴＥＤ", True),  # full-width letters
        ("cafe", "Café au lait", True),  # unaccented term matches accented text
        ("café", "cafe au lait", False),  # accented term needs the accent
        ("café", "CAFÉ", True),
        ('"creme brulee"', "crème brûlée", True),
        ("zürich", "ZÜRICH airport", True),
        ("istanbul", "İSTANBUL", True),
        # CJK and Hangul: no spaces, substring match
        ("联合航空", "我讨厌联合航空公司的服务", True),
        ("联合航空", "联合国", False),
        ("航空 NEAR/3 服务", "航空公司服务", True),
        ("ユナイテッド", "ユナイテッド航空の遅延", True),
        ("삼성", "삼성전자가 발표했다", True),
        ("iphone 手机", "我的iPhone手机坏了", True),
    ],
)
def test_semantics(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("query", "doc", "expected"),
    [
        ("title:united", MatchDoc("united", title="Airline news"), False),
        ("title:united", MatchDoc("nothing", title="United news"), True),
        ('title:"bag lost"', MatchDoc("x", title="My bag lost again"), True),
        ("title:(bag OR suitcase) united", MatchDoc("united", title="suitcase"), True),
        ("title:(bag OR suitcase) united", MatchDoc("united suitcase", title="x"), False),
        ("united", MatchDoc("body", title="United delays"), True),  # unprefixed: title or text
        ('"united delays"', MatchDoc("delays later", title="united"), False),  # not across fields
        ("author:united", MatchDoc("x", author="United Airlines"), True),
        ('author:"united airlines"', MatchDoc("x", author="united airlines"), True),
        ("author:@united", MatchDoc("x", author="@united"), True),
        ("author:united", MatchDoc("united"), False),
        ("site:united.com", MatchDoc("x", url="https://united.com/a"), True),
        ("site:united.com", MatchDoc("x", url="https://hub.united.com/a?b=1"), True),
        ("site:united.com", MatchDoc("x", url="https://notunited.com/a"), False),
        ("site:united.com", MatchDoc("x", url="https://united.com.evil.io/"), False),
        (
            "site:https://www.United.com/path",
            MatchDoc("x", url="http://www.united.com:8080/"),
            True,
        ),
        ("site:bücher.de", MatchDoc("x", url="https://xn--bcher-kva.de/x"), True),
        ("site:united.com", MatchDoc("x"), False),
        ("lang:en", MatchDoc("x", language="en-US"), True),
        ("lang:en", MatchDoc("x", language="EN"), True),
        ("lang:en-us", MatchDoc("x", language="en_US"), True),
        ("lang:en-gb", MatchDoc("x", language="en-US"), False),
        ("lang:de", MatchDoc("x", language="en"), False),
        ("united -lang:de", MatchDoc("united", language="de"), False),
        ("united -site:reddit.com", MatchDoc("united", url="https://old.reddit.com/r/x"), False),
        ("united -site:reddit.com", MatchDoc("united", url="https://news.example.com/"), True),
    ],
)
def test_field_prefixes(query: str, doc: MatchDoc, expected: bool) -> None:
    assert compile_query(query).matches(doc) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I flew United Airlines today", True),
        ("@united lost my guitar", True),
        ("United flight 123 delayed at the gate", True),
        ("Manchester United flight delayed", False),
        ("We reunited at the baggage claim", False),
        ("The United States and the flight of birds", True),  # the query says so
        ("united we stand", False),
    ],
)
def test_the_shipped_example_query(text: str, expected: bool) -> None:
    assert matches(UNITED, text) is expected


@pytest.mark.parametrize(
    ("query", "problem", "position"),
    [
        ("", "empty query", 1),
        ("(united OR delta", "missing ')' for this '('", 1),
        ("united)", "unmatched ')'", 7),
        ('"united airlines', "unclosed quote", 1),
        ('united "airlines', "unclosed quote", 8),
        ("united AND", "expected a term after AND", 11),
        ("AND united", "AND needs a term before it", 1),
        ("united OR", "expected a term before the end of the query", 10),
        ("OR united", "expected a term before 'OR'", 1),
        ("united OR OR delta", "expected a term before 'OR'", 11),
        ("united NOT", "expected a term after NOT", 11),
        ("united NEAR/x bag", "expected NEAR/n with a number of words, like NEAR/3", 8),
        ("united NEAR bag", "expected NEAR/n with a number of words, like NEAR/3", 8),
        ("united NEAR/3 (bag AND lost)", "NEAR joins words or phrases (or an OR of them)", 16),
        ("site:x.com NEAR/3 bag", "NEAR joins words or phrases (or an OR of them)", 6),
        ("title:bag NEAR/3 united", "NEAR needs both sides in the same field", 11),
        ("titel:united", "unknown field 'titel:' (known: title:, author:, site:, lang:)", 1),
        ("title: united", "expected a value right after 'title:'", 7),
        ("title:(author:x)", "a field prefix cannot stand inside another one", 8),
        ("site:not_a_host!", "expected a host name like example.com", 6),
        ("lang:english", "expected a language code like en or pt-BR", 6),
        ("united ()", "empty parentheses", 9),
        ("united - delta", "'-' must stand directly before a term", 8),
        ("-delta", "an exclusion needs a term to exclude from", 1),
        ("united OR -delta", "an exclusion needs a term to exclude from", 11),
        ("NOT united", "the query matches every post (it needs a positive term)", 1),
        ("!!!", "a term needs letters or digits", 1),
        ("unit*", "wildcards are not supported", 5),
    ],
)
def test_syntax_errors_give_the_position(query: str, problem: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        compile_query(query)
    assert info.value.problem == problem
    assert info.value.position == position
    assert isinstance(info.value, ConfigError)
    assert f"at position {position}" in info.value.message


def test_terms_are_the_positive_words_and_phrases() -> None:
    query = compile_query(UNITED + ' OR title:"united breaks" OR author:x OR site:united.com')
    assert query.terms() == [
        "united airlines",
        "@united",
        "united",
        "flight",
        "baggage",
        "gate",
        "united breaks",
    ]


def test_match_doc_from_mention() -> None:
    mention = RawMention(
        source="rss",
        external_id="1",
        url="https://news.example.com/a",
        text="body",
        title="United news",
        author="Jane",
        published_at=datetime(2025, 1, 1, tzinfo=UTC),
        language="en",
    )
    doc = MatchDoc.from_mention(mention)
    assert doc == MatchDoc(
        "body", title="United news", author="Jane", url="https://news.example.com/a", language="en"
    )
    assert compile_query("title:united site:example.com lang:en author:jane").matches(doc)


def test_site_also_matches_the_publisher_or_linked_page() -> None:
    news = RawMention(
        source="rss",
        external_id="g1",
        url="https://news.google.com/rss/articles/CBMi",
        text="United diverts flight",
        extra={"publisher": "Reuters", "publisher_url": "https://www.reuters.com"},
    )
    story = RawMention(
        source="hackernews",
        external_id="1",
        url="https://news.ycombinator.com/item?id=1",
        text="Show HN",
        extra={"link_url": "https://hub.united.com/news"},
    )
    reuters, united = compile_query("site:reuters.com"), compile_query("site:united.com")
    assert reuters.matches(MatchDoc.from_mention(news))
    assert not united.matches(MatchDoc.from_mention(news))
    assert united.matches(MatchDoc.from_mention(story))
    assert compile_query("site:ycombinator.com").matches(MatchDoc.from_mention(story))


def test_hostile_and_huge_text_is_just_text() -> None:
    text = ("<script>alert(1)</script> " + "united lost " * 50_000) + " bag"
    query = compile_query("united NEAR/2 bag")
    assert query.matches(MatchDoc(text))
    assert not query.matches(MatchDoc("<b>united</b> " + "x " * 10_000 + "bag"))


# ------------------------------------------------------------- BrandMatcher


def brands() -> list[BrandConfig]:
    return [
        BrandConfig(
            name="United Airlines",
            queries=[UNITED, "united NEAR/3 boeing"],
            competitors=["Delta Air Lines"],
        ),
        BrandConfig(
            name="Delta Air Lines",
            queries=['"delta air lines" OR @delta OR (delta NEAR/4 flight) -"delta variant"'],
            track=False,
        ),
        BrandConfig(name="Globex Corporation", aliases=["Globex"]),  # no queries: name + aliases
        BrandConfig(name="Lang Only", queries=["lang:fr (avion OR vol)"]),
    ]


def test_brand_matcher_returns_every_matching_brand_in_config_order() -> None:
    matcher = compile_brands(brands())
    doc = MatchDoc("Switched from @delta to United Airlines and regret it")
    assert matcher.match(doc) == ["United Airlines", "Delta Air Lines"]
    assert matcher.match(MatchDoc("Delta variant cases rise; my flight was fine")) == []
    assert matcher.match(MatchDoc("United's Boeing 787 diverted")) == ["United Airlines"]
    assert matcher.match(MatchDoc("nothing to see")) == []
    assert matcher.match(MatchDoc("GLOBEX earnings")) == ["Globex Corporation"]
    assert matcher.match(MatchDoc("Globex Corporation earnings")) == ["Globex Corporation"]
    assert matcher.match(MatchDoc("mon vol est annulé", language="fr-FR")) == ["Lang Only"]
    assert matcher.match(MatchDoc("mon vol est annulé", language="en")) == []


def test_brand_matcher_only_restricts_to_the_given_brands() -> None:
    matcher = compile_brands(brands())
    doc = MatchDoc("@delta and @united both late")
    assert matcher.match(doc, only=["delta air lines"]) == ["Delta Air Lines"]
    assert matcher.match(doc, only=[]) == []


def test_brand_matcher_agrees_with_single_queries() -> None:
    configured = brands()
    matcher = compile_brands(configured)
    texts = [
        "united flight",
        "the united nations",
        "@united",
        "delta flight 12 delayed",
        "flight to the delta region",
        "delta variant flight",
        "globex",
        "united boeing",
    ]
    for text in texts:
        doc = MatchDoc(text, title="Title", author="someone", url="https://x.example/")
        expected = [
            b.name
            for b in configured
            if any(compile_query(q).matches(doc) for q in matcher_queries(b))
        ]
        assert matcher.match(doc) == expected, text


def matcher_queries(brand: BrandConfig) -> list[str]:
    from earful.matching.matcher import brand_queries

    return brand_queries(brand)


def test_highlight_spans_of_matched_terms() -> None:
    matcher = compile_brands(brands())
    text = "Thanks @United: my flight to Newark with United Airlines was late"
    spans = matcher.highlight("United Airlines", text)
    assert [text[s:e] for s, e in spans] == ["@United", "flight", "United Airlines"]


def test_highlight_handles_accents_and_cjk() -> None:
    matcher = compile_brands(
        [
            BrandConfig(name="Cafe", queries=["cafe NEAR/2 olé"]),
            BrandConfig(name="联合航空", queries=["联合航空"]),
        ]
    )
    text = "Le CAFÉ olé!"
    assert [text[s:e] for s, e in matcher.highlight("cafe", text)] == ["CAFÉ", "olé"]
    text = "我讨厌联合航空公司"
    assert [text[s:e] for s, e in matcher.highlight("联合航空", text)] == ["联合航空"]
    assert matcher.highlight("unknown brand", text) == []


def test_highlight_falls_back_to_all_terms_when_the_text_alone_does_not_match() -> None:
    matcher = compile_brands([BrandConfig(name="B", queries=['title:acme "big sale"'])])
    text = "a big sale today"
    assert [text[s:e] for s, e in matcher.highlight("B", text)] == ["big sale"]


def test_anchor_index_never_drops_a_match() -> None:
    """BrandMatcher (anchors) agrees with evaluating every query on every doc."""
    rng = random.Random(5)
    words = ["united", "delta", "flight", "bag", "café", "cafe", "gate", "联合", "the", "lost"]
    handles = ["@united", "#delta", "$ual"]

    def term() -> str:
        roll = rng.random()
        if roll < 0.15:
            return f'"{rng.choice(words)} {rng.choice(words)}"'
        if roll < 0.25:
            return rng.choice(handles)
        if roll < 0.3:
            return rng.choice(["title:", "author:"]) + rng.choice(words)
        if roll < 0.35:
            return rng.choice(["site:example.com", "lang:en", "site:news.example.org"])
        return rng.choice(words)

    def expr(depth: int = 0) -> str:
        roll = rng.random()
        if depth > 2 or roll < 0.3:
            return term()
        if roll < 0.45:
            return f"{term()} NEAR/{rng.randint(0, 3)} {term()}".replace("site:", "").replace(
                "lang:", ""
            )
        op = rng.choice([" AND ", " OR ", " ", " -", " AND NOT "])
        return f"({expr(depth + 1)}{op}{expr(depth + 1)})"

    entries = []
    for i in range(300):
        try:
            entries.append((f"b{i}", compile_query(expr())))
        except QuerySyntaxError:
            continue
    assert len(entries) > 150
    matcher = BrandMatcher(entries)
    matched = 0
    for _ in range(400):
        text = " ".join(rng.choice(words + handles) for _ in range(rng.randint(0, 12)))
        doc = MatchDoc(
            text.upper() if rng.random() < 0.2 else text,
            title=rng.choice([None, "United flight", "le café"]),
            author=rng.choice([None, "Delta Lost", "@united"]),
            url=rng.choice([None, "https://a.example.com/x", "https://news.example.org/"]),
            language=rng.choice([None, "en-US", "fr"]),
        )
        expected = [name for name, q in entries if q.matches(doc)]
        assert matcher.match(doc) == expected, (doc, expected)
        matched += bool(expected)
    assert matched > 100


def test_prefilter_and_title_prefix_never_drop_a_match() -> None:
    """Queries on words only (the anchor prefilter on), titles that are the text's start (cut
    at or inside a word): the matcher agrees with evaluating every query on every doc."""
    rng = random.Random(8)
    words = ["united", "delta", "flight", "bag", "café", "cafe", "ÜNITED", "联合", "the", "lost"]
    words += ["@united", "#delta", "$ual", "reunited", "unite", "😡", "❤️"]
    entries = []
    for i in range(200):
        a, b = rng.choice(words), rng.choice(words)
        shape = rng.choice([f"{a}", f'"{a} {b}"', f"{a} NEAR/1 {b}", f"title:{a}", f"{a} -{b}"])
        try:
            entries.append((f"b{i}", compile_query(shape)))
        except QuerySyntaxError:
            continue
    matcher = BrandMatcher(entries)
    assert matcher._prefilter is not None
    matched = 0
    for _ in range(600):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 10)))
        title = rng.choice([None, text[: rng.randint(0, len(text) + 1)], "le café", "UNITED"])
        doc = MatchDoc(text.upper() if rng.random() < 0.2 else text, title=title)
        expected = [name for name, q in entries if q.matches(doc)]
        assert matcher.match(doc) == expected, (doc, expected)
        matched += bool(expected)
    assert matched > 100


QUERY_BITS = [
    *'ab"()-: @#*é联',
    *["AND", "OR", "NOT", "NEAR/3", "NEAR/", "title:", "author:", "site:", "lang:", "x.com", "en"],
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(QUERY_BITS), max_size=14).map("".join))
def test_any_query_text_compiles_or_raises_query_syntax_error(query: str) -> None:
    try:
        compiled = compile_query(query)
    except QuerySyntaxError as exc:
        assert 1 <= exc.position <= len(query) + 1
        return
    assert isinstance(compiled.terms(), list)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(),
    title=st.none() | st.text(),
    author=st.none() | st.text(),
    url=st.none() | st.text(),
    language=st.none() | st.text(max_size=12),
)
def test_matching_never_raises_on_any_document(
    text: str, title: str | None, author: str | None, url: str | None, language: str | None
) -> None:
    doc = MatchDoc(text, title=title, author=author, url=url, language=language)
    matcher = compile_brands(brands())
    assert isinstance(matcher.match(doc), list)
    assert all(0 <= s < e <= len(text) for s, e in matcher.highlight("United Airlines", text))
