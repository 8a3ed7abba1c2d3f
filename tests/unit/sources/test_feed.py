"""Feed connector: every real feed fixture, the traps they carry, and hostile bodies."""

from __future__ import annotations

import codecs
import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earful.config.models import SourceConfig
from earful.errors import ConfigError, ParseError
from earful.sources import connector_for
from earful.sources.base import PollState
from earful.sources.feed import connector as feed
from earful.sources.feed.dates import parse_localized_date, parse_numeric_date, resolve_date
from earful.sources.feed.encoding import declared_encoding, transcode_to_utf8
from earful.sources.feed.fields import (
    MAX_TEXT_CHARS,
    absolute_url,
    normalize_language,
    strip_publisher_suffix,
    unwrap_redirect,
)
from earful.sources.http import HttpClient
from tests.conftest import fixture_bytes

# (folder, file) -> item count, each checked by counting <item>/<entry> in the file.
# MANIFEST.md says 24 for both reddit captures; both hold 25 distinct items.
EXPECTED_COUNTS: dict[tuple[str, str], int] = {
    ("rss", "netnewswire_kc0011.rss"): 20,
    ("rss", "netnewswire_donthitsave.xml"): 10,
    ("rss", "netnewswire_monkeydom.rss"): 13,
    ("rss", "netnewswire_scriptingNews.rss"): 50,
    ("rss", "netnewswire_livemint.xml"): 25,
    ("rss", "netnewswire_aktuality.rss"): 30,
    ("rss", "netnewswire_medscape.rss"): 20,
    ("rss", "netnewswire_bio.rdf"): 30,
    ("rss", "netnewswire_phpxml.rss"): 20,
    ("rss", "netnewswire_macworld.rss"): 30,
    ("rss", "netnewswire_manton.rss"): 10,
    ("rss", "netnewswire_theomnishow.rss"): 4,
    ("rss", "netnewswire_KatieFloyd.rss"): 20,
    ("rss", "rss-parser_encoding.rss"): 40,
    ("rss", "rss-parser_uolNoticias.rss"): 15,
    ("rss", "rss-parser_encoding-gb2312.xml"): 1,
    ("rss", "rss-parser_guardian.rss"): 55,
    ("rss", "rss-parser_reddit.rss"): 25,
    ("rss", "rss-parser_craigslist.rss"): 25,
    ("rss", "rss-parser_XML_File_Daily_SCI-Tech_News_physorg.xml"): 30,
    ("atom", "netnewswire_DaringFireball.atom"): 48,
    ("atom", "netnewswire_OneFootTsunami.atom"): 25,
    ("atom", "netnewswire_neverworkintheory.atom"): 20,
    ("atom", "netnewswire_qemu.atom"): 10,
    ("atom", "rss-parser_heise.atom"): 15,
    ("atom", "rss-parser_feedburner.atom"): 25,
    ("atom", "rss-parser_reddit-home.rss.atom"): 25,
    ("google_news", "google_news_search_ko_KR_bandoche_TRIMMED.xml"): 3,
    ("google_alerts", "google_alert_philip_dick_new_2021_FRAGMENT.xml"): 1,
}
# Where a saved body came from, for the feeds whose links are relative.
FEED_URLS = {"netnewswire_qemu.atom": "https://www.qemu.org/feed.xml"}
TAG = re.compile(r"<[A-Za-z/!?]")


def parse_fixture(folder: str, name: str, *, url: str | None = None) -> feed.ParseResult:
    return feed.parse(fixture_bytes(folder, name), url=url or FEED_URLS.get(name))


@pytest.mark.parametrize(("folder", "name"), sorted(EXPECTED_COUNTS), ids=lambda v: str(v))
def test_every_real_feed_parses_completely(folder: str, name: str) -> None:
    result = parse_fixture(folder, name)
    mentions = result.mentions
    assert len(mentions) == EXPECTED_COUNTS[(folder, name)], result.problems
    for m in mentions:
        assert m.source == "rss"
        assert m.external_id
        assert m.url and re.match(r"https?://[^/]+", m.url), m.url
        assert not TAG.search(m.text), m.text[:200]
        assert "&amp;" not in m.text
        assert m.title is None or (m.title.strip() == m.title and m.title)
        # Every one of these feeds dates its items.
        assert m.published_at is not None, (m.title, result.problems)
        assert m.published_at.utcoffset() == timedelta(0)
        assert m.engagement.is_empty() and m.author_followers is None
        line = json.loads(m.to_json())
        assert line["published_at"].endswith("Z")


def test_gb2312_chinese_is_decoded() -> None:
    mentions = parse_fixture("rss", "netnewswire_kc0011.rss").mentions
    assert mentions[0].title == "建国35周年纪念，华表，和平鸽"
    assert mentions[0].author == "大鱼儿"
    assert mentions[0].language == "zh-cn"
    # "2020/1/10 14:33:00": feedparser alone reads this as 1 November.
    assert mentions[0].published_at == datetime(2020, 1, 10, 14, 33, tzinfo=UTC)
    single = parse_fixture("rss", "rss-parser_encoding-gb2312.xml").mentions[0]
    assert single.title == "拟298亿元重组盛大游戏后 世纪华通发20亿回购预案"
    assert single.published_at == datetime(2018, 9, 19, 5, 11, 22, tzinfo=UTC)


def test_latin1_with_and_without_declaration() -> None:
    declared = parse_fixture("rss", "rss-parser_encoding.rss")
    assert declared.mentions[0].title == "Mãe de utente é a nova presidente da Raríssimas"
    assert declared.mentions[0].language == "pt-pt"
    sniffed = parse_fixture("rss", "rss-parser_uolNoticias.rss")
    first = sniffed.mentions[0]
    assert "simulações de 2º turno" in (first.title or "")
    assert "Líder na pesquisa" in first.text
    # "Seg, 24 Set 2018 19:42:40 -0300"
    assert first.published_at == datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)
    assert first.language is None  # <language></language>
    assert any("cp1252" in p for p in sniffed.problems)


def test_bom_does_not_break_parsing() -> None:
    body = fixture_bytes("rss", "netnewswire_donthitsave.xml")
    assert body.startswith(codecs.BOM_UTF8)
    result = feed.parse(body)
    assert len(result.mentions) == 10 and result.problems == []


def test_relative_links_resolve_against_the_feed_url() -> None:
    result = parse_fixture("atom", "netnewswire_qemu.atom")
    assert result.mentions[0].url == "https://www.qemu.org/2025/08/26/qemu-10-1-0/"
    assert all(m.url and m.url.startswith("https://www.qemu.org/") for m in result.mentions)


def test_relative_links_without_a_feed_url_are_null_not_invented() -> None:
    result = feed.parse(fixture_bytes("atom", "netnewswire_qemu.atom"))
    assert len(result.mentions) == 10
    assert all(m.url is None for m in result.mentions)
    assert any("relative links" in p for p in result.problems)


def test_xml_base_is_honoured() -> None:
    mentions = parse_fixture("atom", "netnewswire_OneFootTsunami.atom").mentions
    assert all(m.url and m.url.startswith("http") for m in mentions)
    assert mentions[0].language is None  # xml:lang="" means unknown


def test_google_news_titles_lose_the_publisher() -> None:
    mentions = parse_fixture(
        "google_news", "google_news_search_ko_KR_bandoche_TRIMMED.xml"
    ).mentions
    first = mentions[0]
    assert first.title == '박홍근 "호남 반도체, 기업 팔 비틀기 아냐…팹 증설도 구상"'
    assert first.extra["publisher"] == "조선일보"
    assert first.extra["publisher_url"] == "https://www.chosun.com"
    assert first.text == first.title  # the description only repeated headline + publisher
    assert mentions[2].title == "“800조 반도체 대박? 공장 짓고 사원 뽑아야 체감하죠”"
    assert mentions[2].extra["publisher"] == "gjdream.com"
    assert all(m.language == "ko" for m in mentions)
    assert all(not m.title.endswith(m.extra["publisher"]) for m in mentions if m.title)


def test_google_alerts_links_are_unwrapped_and_highlights_stripped() -> None:
    (alert,) = parse_fixture(
        "google_alerts", "google_alert_philip_dick_new_2021_FRAGMENT.xml"
    ).mentions
    assert alert.url == (
        "https://www.theconcordinsider.com/2021/06/04/this-week-in-concord-history-502/"
    )
    assert alert.external_id == "tag:google.com,2013:googlealerts/feed:12501224780620368192"
    assert "Philip Dick" in alert.text and "<b>" not in alert.text
    assert alert.author is None  # <name></name>


def test_missing_and_empty_titles_stay_null() -> None:
    scripting = parse_fixture("rss", "netnewswire_scriptingNews.rss").mentions
    assert sum(m.title is None for m in scripting) == 39
    assert all(m.text for m in scripting if m.title is None)
    manton = parse_fixture("rss", "netnewswire_manton.rss").mentions
    assert sum(m.title is None for m in manton) == 4


def test_unescaped_ampersand_keeps_every_item() -> None:
    result = parse_fixture("rss", "rss-parser_XML_File_Daily_SCI-Tech_News_physorg.xml")
    assert len(result.mentions) == 30
    assert any("not well-formed" in p for p in result.problems)
    assert result.mentions[0].title == (
        "SuperBIT: A low-cost, balloon-borne telescope to rival Hubble"
    )


def test_broken_prolog_and_named_zones() -> None:
    php = parse_fixture("rss", "netnewswire_phpxml.rss").mentions
    assert php[0].title == "Serdar Gözübüyük scheidsrechter bij FC Twente - FC Utrecht"
    medscape = parse_fixture("rss", "netnewswire_medscape.rss").mentions
    # "Wed, 5 Nov 2025 13:52:10  EST"
    assert medscape[0].published_at == datetime(2025, 11, 5, 18, 52, 10, tzinfo=UTC)


def test_feed_level_author_is_inherited_by_atom_entries() -> None:
    mentions = parse_fixture("atom", "netnewswire_neverworkintheory.atom").mentions
    assert {m.author for m in mentions} == {"Greg Wilson"}


def test_code_samples_are_kept_as_text_but_defanged() -> None:
    mentions = parse_fixture("atom", "rss-parser_feedburner.atom").mentions
    code = [m for m in mentions if "fieldPath" in m.text]
    assert code and "\u2039fieldPath>" in code[0].text


# --- small fixtures of our own ---------------------------------------------------------------

RSS_HEAD = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'


def rss(items: str, head: str = RSS_HEAD) -> bytes:
    return (head + items + "</channel></rss>").encode("utf-8")


def test_hostile_html_becomes_plain_text() -> None:
    body = rss(
        "<item><title>Hi &lt;script&gt;x&lt;/script&gt;</title><link>https://e.example/1</link>"
        "<description><![CDATA[<script>alert(1)</script><style>p{color:red}</style>"
        '<p>Hello <b>world</b> &amp; friends</p><img src=x onerror="alert(2)">'
        '<a href="javascript:alert(3)">click</a>&lt;iframe src=evil&gt;]]></description>'
        "<pubDate>Mon, 06 Jan 2025 10:00:00 +0100</pubDate></item>"
    )
    (m,) = feed.parse(body).mentions
    assert "alert" not in m.text and "color" not in m.text
    assert "Hello world & friends" in m.text
    assert not TAG.search(m.text) and not TAG.search(m.title or "")
    assert m.published_at == datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def test_javascript_links_are_not_urls() -> None:
    body = rss("<item><title>x</title><link>javascript:alert(1)</link></item>")
    (m,) = feed.parse(body, url="https://e.example/feed").mentions
    assert m.url is None


def test_one_megabyte_item_is_stored_capped() -> None:
    big = "<p>" + "Terrible service, never again &amp; again. " * 25_000 + "</p>"
    body = rss(
        f"<item><title>big</title><link>https://e.example/big</link>"
        f"<description><![CDATA[{big}]]></description></item>"
        "<item><title>small</title><link>https://e.example/small</link></item>"
    )
    assert len(body) > 1_000_000
    result = feed.parse(body)
    assert [m.title for m in result.mentions] == ["big", "small"]
    assert len(result.mentions[0].text) == MAX_TEXT_CHARS
    assert result.mentions[0].text.startswith("Terrible service, never again & again.")
    assert any("cut to" in p for p in result.problems)


def test_truncated_feed_keeps_complete_items() -> None:
    body = fixture_bytes("rss", "netnewswire_aktuality.rss")
    cut = body.index(b"</item>", len(body) // 2) + 40  # inside the next item
    result = feed.parse(body[:cut])
    complete = body[:cut].count(b"</item>")
    assert len(result.mentions) == complete
    assert 0 < complete < 30
    assert any("truncated" in p for p in result.problems)


def test_feed_truncated_before_any_item_is_an_error() -> None:
    body = fixture_bytes("rss", "netnewswire_aktuality.rss")
    with pytest.raises(ParseError, match="truncated"):
        feed.parse(body[: body.index(b"<item>") + 30])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<!DOCTYPE html><html><head><title>Home</title></head><body>Hi</body></html>", "HTML"),
        (b"just some words", "not an RSS"),
        (b'{"data": []}', "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", ', "JSON"),
        (b"/etc/passwd", "not an RSS"),  # never opened as a file name
    ],
)
def test_bodies_that_are_not_feeds_raise(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        feed.parse(body)


def test_empty_items_are_skipped_with_a_problem_and_others_kept() -> None:
    body = rss(
        "<item></item><item><title>kept</title><guid>g-2</guid></item>"
        "<item><title>bad date</title><link>https://e.example/3</link>"
        "<pubDate>sometime soon</pubDate></item>"
    )
    result = feed.parse(body)
    assert [m.title for m in result.mentions] == ["kept", "bad date"]
    assert result.mentions[0].external_id == "g-2" and result.mentions[0].url is None
    assert result.mentions[1].published_at is None
    assert any(p.startswith("item 1: skipped") for p in result.problems)
    assert any("unparseable date" in p for p in result.problems)


def test_ids_fall_back_to_link_then_a_stable_hash() -> None:
    body = rss(
        "<item><title>a</title><link>https://e.example/a</link></item>"
        "<item><title>no link</title><pubDate>Mon, 06 Jan 2025 10:00:00 GMT</pubDate></item>"
    )
    first, second = feed.parse(body).mentions
    assert first.external_id == "https://e.example/a"
    assert second.external_id.startswith("sha1:")
    assert feed.parse(body).mentions[1].external_id == second.external_id


JSON_FEED_11 = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Example",
    "home_page_url": "https://example.org/",
    "language": "en-US",
    "authors": [{"name": "Feed Author"}],
    "items": [
        {
            "id": 1,
            "url": "/posts/1",
            "title": "First",
            "content_html": "<p>Love <b>Acme</b>!</p><script>x()</script>",
            "date_published": "2025-01-02T03:04:05+02:00",
        },
        {
            "id": "2",
            "url": "https://example.org/posts/2",
            "content_text": "Plain <not a tag> text",
            "authors": [{"name": "Item Author"}],
            "language": "de",
            "date_modified": "2025-01-03T00:00:00Z",
        },
        "not an object",
        {"id": "4"},
    ],
}


def test_json_feed_1_1() -> None:
    result = feed.parse(json.dumps(JSON_FEED_11).encode())
    first, second = result.mentions
    assert first.external_id == "1" and first.url == "https://example.org/posts/1"
    assert first.text == "Love Acme!" and first.author == "Feed Author"
    assert first.published_at == datetime(2025, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert first.language == "en-us"
    assert second.title is None and second.author == "Item Author" and second.language == "de"
    assert second.text == "Plain \u2039not a tag> text"
    assert second.published_at == datetime(2025, 1, 3, tzinfo=UTC)
    assert len(result.problems) == 2


def test_json_feed_1_with_bom_and_author_object() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1",
        "feed_url": "https://example.net/feed.json",
        "items": [{"id": "a", "url": "a.html", "summary": "s", "author": {"name": "Old"}}],
    }
    body = codecs.BOM_UTF8 + json.dumps(doc).encode()
    (m,) = feed.parse(body).mentions
    assert m.url == "https://example.net/a.html" and m.author == "Old" and m.text == "s"


def test_connector_for_rss_is_this_module() -> None:
    assert connector_for("rss") is feed


# --- helpers -----------------------------------------------------------------------------------


def test_transcoding_rewrites_the_declaration() -> None:
    body = '  <?xml version="1.0" encoding="gb2312"?><rss/>'.encode("gb2312")
    out = transcode_to_utf8(body)
    assert out.body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert out.encoding == "gb18030"
    latin = "<rss><title>Notícias</title></rss>".encode("latin-1")
    out = transcode_to_utf8(latin)
    assert "Notícias" in out.body.decode("utf-8") and out.notes
    utf16 = codecs.BOM_UTF16_LE + '<?xml version="1.0" encoding="utf-16"?><rss/>'.encode(
        "utf-16-le"
    )
    assert transcode_to_utf8(utf16).body == b'<?xml version="1.0" encoding="utf-8"?><rss/>'
    assert declared_encoding(b"<?xml version='1.0' encoding='ISO-8859-1'?>") == "iso-8859-1"


def test_http_charset_is_a_hint_for_undeclared_bodies() -> None:
    body = "<rss><title>Привет</title></rss>".encode("koi8-r")
    assert "Привет" in transcode_to_utf8(body, charset="koi8-r").body.decode()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Seg, 24 Set 2018 19:42:40 -0300", datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)),
        ("Ter, 02 Out 2018 08:00:00 GMT", datetime(2018, 10, 2, 8, 0, tzinfo=UTC)),
        ("Mié, 05 Dic 2018 10:00:00 +0100", datetime(2018, 12, 5, 9, 0, tzinfo=UTC)),
        ("Di, 04 Mär 2025 12:00:00 +0000", datetime(2025, 3, 4, 12, 0, tzinfo=UTC)),
        ("tomorrow", None),
    ],
)
def test_localized_dates(raw: str, expected: datetime | None) -> None:
    assert parse_localized_date(raw) == expected


def test_numeric_dates_and_resolution_order() -> None:
    assert parse_numeric_date("2020/1/10 14:33:00") == datetime(2020, 1, 10, 14, 33, tzinfo=UTC)
    assert parse_numeric_date("2019-08-27") == datetime(2019, 8, 27, tzinfo=UTC)
    assert parse_numeric_date("2019-02-30") is None
    assert resolve_date(None, None) is None


def test_url_helpers() -> None:
    wrapped = "https://www.google.com/url?rct=j&sa=t&url=https://a.example/x%3Fy%3D1&ct=ga"
    assert unwrap_redirect(wrapped) == "https://a.example/x?y=1"
    assert unwrap_redirect("https://evil.example/url?url=https://a.example") == (
        "https://evil.example/url?url=https://a.example"
    )
    assert absolute_url("/p", "https://h.example/feed.xml") == "https://h.example/p"
    assert absolute_url("data:text/html,hi", "https://h.example/") is None
    assert normalize_language(" pt_BR ") == "pt-br" and normalize_language("") is None
    assert strip_publisher_suffix("A - B - Pub", "Pub") == "A - B"
    assert strip_publisher_suffix("Pub", "Pub") == "Pub"


# --- fetch ---------------------------------------------------------------------------------------


def make_http(handler: httpx.MockTransport) -> HttpClient:
    return HttpClient(
        httpx.Client(transport=handler), max_body_bytes=5_000_000, host_min_interval_s=0
    )


def test_fetch_sends_validators_and_handles_304() -> None:
    body = fixture_bytes("atom", "netnewswire_qemu.atom")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304, headers={"ETag": '"v1"'})
        return httpx.Response(
            200,
            content=body,
            headers={"ETag": '"v1"', "Last-Modified": "Wed, 08 Oct 2025 23:46:50 GMT"},
        )

    source = SourceConfig(name="qemu", kind="rss", url="https://www.qemu.org/feed.xml")
    with make_http(httpx.MockTransport(handler)) as client:
        first = feed.fetch(client, source, PollState())
        assert len(first.mentions) == 10 and first.bytes_received == len(body)
        assert first.mentions[0].url == "https://www.qemu.org/2025/08/26/qemu-10-1-0/"
        assert first.etag == '"v1"' and first.last_modified
        state = PollState(etag=first.etag, last_modified=first.last_modified)
        second = feed.fetch(client, source, state)
    assert second.not_modified and second.mentions == [] and second.bytes_received == 0
    assert second.etag == '"v1"' and second.last_modified == first.last_modified
    assert seen[1].headers["if-modified-since"] == first.last_modified


def test_fetch_names_the_source_in_parse_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html><body>login</body></html>")

    source = SourceConfig(name="broken", kind="rss", url="https://e.example/feed")
    with make_http(httpx.MockTransport(handler)) as client, pytest.raises(ParseError) as info:
        feed.fetch(client, source, PollState())
    assert info.value.source == "broken" and "HTML page" in str(info.value)


# --- robustness ----------------------------------------------------------------------------------

SEED_FEED = rss(
    "<item><title>One &amp; only</title><link>/a</link><guid>1</guid>"
    "<description>&lt;p&gt;Hi&lt;/p&gt;</description>"
    "<pubDate>Seg, 24 Set 2018 19:42:40 -0300</pubDate></item>"
    "<item><title>Two</title><link>https://e.example/b</link></item>"
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(min_value=0, max_value=len(SEED_FEED)),
    junk=st.binary(max_size=40),
    at=st.integers(min_value=0, max_value=len(SEED_FEED)),
)
def test_mangled_bodies_parse_or_raise_parse_error(cut: int, junk: bytes, at: int) -> None:
    body = (SEED_FEED[:at] + junk + SEED_FEED[at:])[: max(cut, 1)]
    try:
        result = feed.parse(body, url="https://e.example/feed")
    except ParseError:
        return
    for m in result.mentions:
        assert m.url is None or m.url.startswith(("http://", "https://"))
        assert not TAG.search(m.text)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_parser(body: bytes) -> None:
    try:
        result = feed.parse(body)
    except ParseError as exc:
        assert str(exc)  # a reason a person can read
        return
    assert all(m.source == "rss" for m in result.mentions)


def test_fetch_without_url_is_a_config_error() -> None:
    # The config loader refuses this; a caller that builds sources by hand may not.
    source = SourceConfig.model_construct(name="nourl", kind="rss", url=None)
    transport = httpx.MockTransport(lambda r: httpx.Response(500))
    with make_http(transport) as client, pytest.raises(ConfigError, match="needs a url"):
        feed.fetch(client, source, PollState())


def test_google_alerts_html_titles_lose_highlights() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><id>tag:google.com,2005:alerts/1</id>'
        b"<title>Google Alert - acme</title><entry><id>tag:google.com,2013:googlealerts/feed:1</id>"
        b'<title type="html">&lt;b&gt;Acme&lt;/b&gt; recall &amp;amp; refunds</title>'
        b'<link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://news.example/'
        b'acme-recall&amp;ct=ga&amp;usg=x"/><published>2024-05-01T08:00:00Z</published>'
        b'<content type="html">&lt;b&gt;Acme&lt;/b&gt; said on Monday</content></entry></feed>'
    )
    (m,) = feed.parse(body).mentions
    assert m.title == "Acme recall & refunds"
    assert m.url == "https://news.example/acme-recall"
    assert m.text == "Acme said on Monday"


def test_an_invalid_byte_in_a_utf8_feed_is_replaced_where_it_is() -> None:
    # One stray byte must not make the whole body cp1252 ("café" -> "cafÃ©").
    body = (
        RSS_HEAD
        + "<item><title>Acme café</title><guid>1</guid><description>crème brûlée</description>"
        + "</item><item><title>bad \xff byte</title><guid>2</guid></item></channel></rss>"
    ).encode("utf-8")
    body = body.replace("\xff".encode(), b"\xff")
    assert b"\xff" in body
    result = feed.parse(body)
    titles = [m.title for m in result.mentions]
    assert titles == ["Acme café", "bad \ufffd byte"]
    assert result.mentions[0].text == "crème brûlée"
    assert any("replaced" in p for p in result.problems)
    # Undeclared Latin-1, with no valid UTF-8 at all, is still read as cp1252.
    latin = transcode_to_utf8("<rss><title>Notícias é</title></rss>".encode("latin-1"))
    assert latin.encoding == "cp1252" and "Notícias é" in latin.body.decode()
