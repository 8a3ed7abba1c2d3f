"""The fast feed reader gives exactly feedparser's result whenever it accepts a body.

Each check parses the same body twice — ``feed.parse(fast=True)`` (the fast reader when it
accepts, feedparser otherwise) and ``feed.parse(fast=False)`` (always feedparser) — and
compares every mention (``to_dict()`` and ``extra``) and every problem note.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

import pytest
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import _urljoin, resolve_relative_uris

from earful.bench.workload import feed_bodies
from earful.errors import ParseError
from earful.sources.feed import compat as feed_compat
from earful.sources.feed import connector as feed
from earful.sources.feed import fast as feed_fast
from earful.sources.feed.encoding import transcode_to_utf8
from earful.sources.feed.fields import is_absolute_http, unwrap_redirect
from earful.text import _TextExtractor, html_to_text, tidy_whitespace
from tests.conftest import fixture_bytes, shared_path

REAL_FOLDERS = ("rss", "atom", "google_news", "google_alerts")
URLS = (None, "https://example.com/feeds/x.xml")


def outcome(body: bytes, url: str | None, *, fast: bool) -> Any:
    try:
        result = feed.parse(body, url=url, fast=fast)
    except ParseError as exc:
        return ("error", exc.reason, str(exc))
    return ([(m.to_dict(), m.extra) for m in result.mentions], result.problems)


def accepted(body: bytes, url: str | None) -> bool:
    return feed_fast.read_feed(transcode_to_utf8(body).body, url=url) is not None


def assert_same(body: bytes, url: str | None) -> bool:
    """True when the fast reader accepted ``body`` (and then matched feedparser)."""
    if not accepted(body, url):
        return False
    assert outcome(body, url, fast=True) == outcome(body, url, fast=False), body[:2000]
    return True


def real_fixtures() -> list[tuple[str, str]]:
    return [
        (folder, path.name)
        for folder in REAL_FOLDERS
        for path in sorted(Path(shared_path("fixtures", "real", folder)).iterdir())
        if path.is_file()
    ]


@pytest.mark.parametrize(("folder", "name"), real_fixtures(), ids=lambda v: str(v))
@pytest.mark.parametrize("url", URLS)
def test_real_fixture_same_as_feedparser_when_accepted(
    folder: str, name: str, url: str | None
) -> None:
    body = fixture_bytes(folder, name)
    if assert_same(body, url):
        assert feed.parse(body, url=url).mentions  # the fast result is not vacuous


def test_fast_reader_accepts_the_plain_real_fixtures() -> None:
    """24 of the 29 real fixtures take the fast path; the others are RSS 1.0/RDF, broken
    XML, Atom xhtml content or GeoRSS."""
    fixtures = real_fixtures()
    taken = [name for folder, name in fixtures if accepted(fixture_bytes(folder, name), None)]
    assert len(fixtures) == 29
    assert len(taken) >= 24, taken
    assert "google_news_search_ko_KR_bandoche_TRIMMED.xml" in taken
    assert "google_alert_philip_dick_new_2021_FRAGMENT.xml" in taken


def test_bench_workload_takes_the_fast_path_with_the_same_result() -> None:
    bodies = list(feed_bodies(300, per_feed=50))
    assert bodies
    for body in bodies:
        assert assert_same(body, "https://bench.example.com/")


# -- generated variations -------------------------------------------------------------------

TEXTS = [
    "Plain title",
    "",
    "   ",
    "A &amp; B",
    "A &amp;amp; B",
    "&lt;b&gt;Bold&lt;/b&gt; news",
    "<![CDATA[<p>Hi &amp; bye</p>]]>",
    "<![CDATA[Tom & Jerry]]>",
    "emoji 😀🔥 ❤️ 🤬",
    "CAPS LOCK!!! so good :)",
    "Ã© mojibake Ã¼ber",
    "&#147;quoted&#148; &#150; dash",
    "&lt;script&gt;alert(1)&lt;/script&gt;after",
    "&lt;p&gt;para&lt;/p&gt;&lt;p&gt;two&lt;br/&gt;lines&lt;/p&gt;",
    '&lt;a href="/rel?a=1&amp;amp;b=2"&gt;link&lt;/a&gt; text',
    "&lt;!-- c --&gt;commented",
    "&amp;nbsp;spaced&amp;hellip;",
    "&amp;#8217;quote &amp;#x27;",
    "&amp;foo; unknown &amp;bar",
    "x &lt; y &gt; z",
    "Headline here - Publisher Name",
    "line one\nline two\r\n  line three",
    "&lt;img src='x.png'/&gt;pic",
    '&lt;font color="red"&gt;red&lt;/font&gt;',
    "&#233;t&#233; caf&#xE9;",
    "&lt;b&gt;unclosed",
    "&lt;/br&gt;odd&lt;p/&gt;x",
    "&lt;div&gt;&lt;ul&gt;&lt;li&gt;one&lt;/li&gt;&lt;li&gt;two&lt;/li&gt;&lt;/ul&gt;&lt;/div&gt;",
    "&lt;iframe src=x&gt;&lt;/iframe&gt;frame",
    "<![CDATA[<p>cdata &lt;b&gt;escaped&lt;/b&gt;</p>]]>",
    "&lt;P CLASS='x'&gt;Upper&lt;/P&gt;",
    "&lt;span style='color:red'&gt;styled&lt;/span&gt;",
    "Pão de queijo é ótimo — 北京 ¡olé!",
    "\u0080\u0099 raw c1",
]
LINKS = [
    "https://ex.com/a",
    "/relative/path",
    "relative.html",
    "https://ex.com/a?x=1&amp;y=2",
    "",
    "javascript:alert(1)",
    "https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://real.example.org/x&amp;ct=ga",
    "HTTPS://EX.COM/Up",
    "https://ex.com/a#frag",
    "http://ex.com/a;p?q",
    "  https://ex.com/space  ",
    "https://news.google.com/rss/articles/CBMi?oc=5",
    "https:///ex.com/triple",
    "//ex.com/proto-relative",
    "https://ex.com/a?",
]
DATES = [
    "Thu, 01 Jan 2026 00:00:00 +0000",
    "Thu, 01 Jan 2026 10:30:00 GMT",
    "2026-01-01T10:00:00Z",
    "2026-01-01T10:00:00.123+02:00",
    "2020/1/10 14:33:00",
    "Seg, 24 Set 2018 19:42:40 -0300",
    "garbage",
    "",
    "Mon, 32 Jan 2026 00:00:00 GMT",
]
AUTHORS = ["jane@example.com (Jane Doe)", "Jane Doe", "jane@example.com", "", "<jane@ex.com>"]
GUIDS = ["https://ex.com/g1", "g1", "tag:ex.com,2020:1", "/g/rel", ""]
LANGS = ["en-us", "pt_BR", "", "EN"]


def pick(rng: random.Random, values: list[str]) -> str:
    return rng.choice(values)


def maybe(rng: random.Random, p: float = 0.5) -> bool:
    return rng.random() < p


def rss_item(rng: random.Random) -> str:
    parts = []
    if maybe(rng, 0.85):
        parts.append(f"<title>{pick(rng, TEXTS)}</title>")
    if maybe(rng, 0.8):
        parts.append(f"<link>{pick(rng, LINKS)}</link>")
    if maybe(rng, 0.8):
        parts.append(f"<description>{pick(rng, TEXTS)}</description>")
    if maybe(rng, 0.25):
        parts.append(f"<content:encoded>{pick(rng, TEXTS)}</content:encoded>")
    if maybe(rng, 0.7):
        perma = rng.choice(
            ["", " isPermaLink='false'", " isPermaLink='true'", " isPermaLink='False'"]
        )
        parts.append(f"<guid{perma}>{pick(rng, GUIDS)}</guid>")
    if maybe(rng, 0.7):
        parts.append(f"<pubDate>{pick(rng, DATES)}</pubDate>")
    if maybe(rng, 0.2):
        parts.append(f"<dc:date>{pick(rng, DATES)}</dc:date>")
    if maybe(rng, 0.3):
        parts.append(f"<author>{escape(pick(rng, AUTHORS))}</author>")
    if maybe(rng, 0.2):
        parts.append(f"<dc:creator>{escape(pick(rng, AUTHORS))}</dc:creator>")
    if maybe(rng, 0.2):
        parts.append(f"<dc:language>{pick(rng, LANGS)}</dc:language>")
    if maybe(rng, 0.3):
        parts.append("<category>news</category>")
    if maybe(rng, 0.2):
        parts.append("<comments>https://ex.com/c</comments>")
    if maybe(rng, 0.2):
        parts.append('<enclosure url="https://ex.com/a.mp3" length="1" type="audio/mpeg"/>')
    if maybe(rng, 0.25):
        parts.append(f'<source url="https://pub.example.com/">{pick(rng, TEXTS)}</source>')
    if maybe(rng, 0.1):
        rel = rng.choice(["", ' rel="alternate"', ' rel="self"'])
        parts.append(f'<atom:link href="{pick(rng, LINKS)}"{rel}/>')
    if maybe(rng, 0.05):
        parts.append(f"<title>{pick(rng, TEXTS)}</title>")  # repeated: refused
    for _ in range(rng.randint(0, 2)):
        parts.append(rng.choice(ITEM_EXTRAS).replace("TEXT", pick(rng, TEXTS)))
    rng.shuffle(parts)
    return "<item>" + "".join(parts) + "</item>"


# Namespaced and odd elements feedparser handles in its own ways (some refused, most not).
ITEM_EXTRAS = [
    "<media:title>TEXT</media:title>",
    '<media:title type="html">TEXT</media:title>',
    '<media:content url="https://ex.com/v.mp4"><media:credit>me</media:credit></media:content>',
    '<media:content url="https://ex.com/v.mp4"><media:title>TEXT</media:title></media:content>',
    '<media:thumbnail url="https://ex.com/t.png"/>',
    "<media:group><media:content url='x'/></media:group>",
    "<media:description>TEXT</media:description>",
    "<itunes:author>Pod Person</itunes:author>",
    "<itunes:summary>TEXT</itunes:summary>",
    "<itunes:duration>12:00</itunes:duration>",
    '<itunes:image href="https://ex.com/i.png"/>',
    "<itunes:subtitle>TEXT</itunes:subtitle>",
    "<image><url>https://ex.com/i.png</url><title>TEXT</title><link>/x</link></image>",
    "<image><url>https://ex.com/i.png</url></image>",
    "<foo:bar>TEXT</foo:bar>",
    '<foo:baz a="1">TEXT</foo:baz>',
    "<foo:title>TEXT</foo:title>",
    "<categories><category>a</category><category>b</category></categories>",
    "<thumbnail url='https://ex.com/t.png'/>",
    "<dc:subject>topic</dc:subject>",
    "<wfw:commentRss>/comments/feed</wfw:commentRss>",
    "<slash:comments>3</slash:comments>",
    "<feedburner:origLink>https://ex.com/orig</feedburner:origLink>",
    "<dcterms:issued>2026-01-01T00:00:00Z</dcterms:issued>",
    "<dcterms:modified>2026-01-02T00:00:00Z</dcterms:modified>",
    "<summary>TEXT</summary>",
    "<content>TEXT</content>",
    "<georss:point>45.1 -93.2</georss:point>",
    '<enclosure url="/rel.mp3" type="audio/mpeg" length="9"/>',
    '<link xml:base="https://other.example/dir/">page.html</link>',
    '<description xml:lang="fr">TEXT</description>',
    '<title xml:lang="">TEXT</title>',
    "<language>de</language>",
    "<rss:link>https://ex.com/rss1</rss:link>",
    "<dc:creator>Second Author</dc:creator>",
]
CHANNEL_EXTRAS = [
    "<itunes:summary>TEXT</itunes:summary>",
    "<itunes:subtitle>TEXT</itunes:subtitle>",
    "<itunes:author>Pod</itunes:author>",
    "<itunes:owner><itunes:name>O</itunes:name><itunes:email>o@ex.com</itunes:email></itunes:owner>",
    '<itunes:category text="Tech"><itunes:category text="Gadgets"/></itunes:category>',
    '<itunes:image href="https://ex.com/i.png"/>',
    "<itunes:explicit>no</itunes:explicit>",
    "<dc:date>2026-01-01T00:00:00Z</dc:date>",
    "<dc:creator>Chan</dc:creator>",
    "<dc:language>pt-br</dc:language>",
    "<dc:rights>c</dc:rights>",
    "<foo:bar>TEXT</foo:bar>",
    "<sy:updatePeriod>hourly</sy:updatePeriod>",
    "<webMaster>web@ex.com (Web)</webMaster>",
    "<copyright>TEXT</copyright>",
    "<textInput><title>t</title><link>/x</link></textInput>",
    "<media:title>TEXT</media:title>",
    "<id>https://ex.com/chan</id>",
    '<link xml:base="https://other.example/">/home</link>',
]
NAMESPACES = (
    ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"'
    ' xmlns:dcterms="http://purl.org/dc/terms/" xmlns:foo="urn:example:foo"'
    ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
    ' xmlns:wfw="http://wellformedweb.org/CommentAPI/"'
    ' xmlns:slash="http://purl.org/rss/1.0/modules/slash/"'
    ' xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"'
    ' xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'
    ' xmlns:georss="http://www.georss.org/georss"'
)
MEDIA_NAMESPACES = [
    ' xmlns:media="http://search.yahoo.com/mrss/"',
    ' xmlns:media="http://www.rssboard.org/media-rss"',  # unknown to feedparser, same prefix
]


def rss_feed(rng: random.Random) -> str:
    head = []
    if maybe(rng, 0.9):
        head.append(f"<title>{pick(rng, TEXTS)}</title>")
    if maybe(rng, 0.8):
        link = rng.choice(["https://news.google.com/search?q=x", *LINKS])
        head.append(f"<link>{link}</link>")
    if maybe(rng, 0.3):
        head.append(f'<atom:link href="{pick(rng, LINKS)}" rel="self" type="application/rss+xml"/>')
    if maybe(rng, 0.7):
        head.append(f"<description>{pick(rng, TEXTS)}</description>")
    if maybe(rng, 0.5):
        head.append(f"<language>{pick(rng, LANGS)}</language>")
    if maybe(rng, 0.2):
        head.append(f"<generator>{rng.choice(['NFE/5.0', 'WordPress'])}</generator>")
    if maybe(rng, 0.2):
        head.append(
            "<image><url>https://ex.com/i.png</url>"
            f"<title>{pick(rng, TEXTS)}</title><link>https://ex.com/</link></image>"
        )
    if maybe(rng, 0.2):
        head.append("<managingEditor>ed@ex.com (Ed)</managingEditor><ttl>60</ttl>")
    if maybe(rng, 0.2):
        head.append("<lastBuildDate>Thu, 01 Jan 2026 00:00:00 +0000</lastBuildDate>")
    for _ in range(rng.randint(0, 2)):
        head.append(rng.choice(CHANNEL_EXTRAS).replace("TEXT", pick(rng, TEXTS)))
    items = [rss_item(rng) for _ in range(rng.randint(0, 4))]
    body = head + items
    if maybe(rng, 0.2):
        rng.shuffle(body)
    lang = f' xml:lang="{pick(rng, LANGS)}"' if maybe(rng, 0.15) else ""
    version = rng.choice(["2.0", "2.0", "0.92", "0.91", ""])
    extra_ns = rng.choice(MEDIA_NAMESPACES)
    if maybe(rng, 0.1):
        extra_ns += ' xmlns:rss="http://purl.org/rss/1.0/"'
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<rss version="{version}"{lang}{NAMESPACES}{extra_ns}>'
        "<channel>" + "\n".join(body) + "</channel></rss>"
    )


def atom_text(rng: random.Random, tag: str) -> str:
    kind = rng.choice(["", ' type="text"', ' type="html"', ' type="HTML"', ' type="text/html"'])
    return f"<{tag}{kind}>{pick(rng, TEXTS)}</{tag}>"


def atom_author(rng: random.Random) -> str:
    inner = ""
    if maybe(rng, 0.8):
        inner += f"<name>{escape(rng.choice(['Jane', ' Jane Doe ', '', 'Ã© name']))}</name>"
    if maybe(rng, 0.4):
        inner += "<email>jane@ex.com</email>"
    if maybe(rng, 0.3):
        inner += f"<uri>{pick(rng, LINKS)}</uri>"
    return f"<author>{inner}</author>"


def atom_link(rng: random.Random) -> str:
    rel = rng.choice(
        ["", ' rel="alternate"', ' rel="self"', ' rel="enclosure"', ' rel="Alternate"']
    )
    kind = rng.choice(["", ' type="text/html"', ' type="application/pdf"', ' type="TEXT/HTML"'])
    return f"<link{rel}{kind} href={quoteattr(pick(rng, LINKS))}/>"


def atom_entry(rng: random.Random) -> str:
    parts = []
    if maybe(rng, 0.85):
        parts.append(atom_text(rng, "title"))
    for _ in range(rng.randint(0, 2)):
        parts.append(atom_link(rng))
    if maybe(rng, 0.8):
        parts.append(f"<id>{pick(rng, GUIDS)}</id>")
    if maybe(rng, 0.6):
        parts.append(f"<published>{pick(rng, DATES)}</published>")
    if maybe(rng, 0.6):
        parts.append(f"<updated>{pick(rng, DATES)}</updated>")
    if maybe(rng, 0.4):
        parts.append(atom_author(rng))
    if maybe(rng, 0.6):
        parts.append(atom_text(rng, "summary"))
    if maybe(rng, 0.5):
        parts.append(atom_text(rng, "content"))
    if maybe(rng, 0.2):
        parts.append('<category term="x"/>')
    for _ in range(rng.randint(0, 2)):
        parts.append(rng.choice(ATOM_EXTRAS).replace("TEXT", pick(rng, TEXTS)))
    rng.shuffle(parts)
    return f"<entry{atom_scope(rng)}>" + "".join(parts) + "</entry>"


ATOM_EXTRAS = [
    '<content type="html" xml:base="https://base.example/posts/">TEXT</content>',
    '<link href="rel/page" xml:base="https://base.example/x/"/>',
    '<summary xml:lang="de">TEXT</summary>',
    '<title xml:base="/relative/">TEXT</title>',
    "<contributor><name>C</name><uri>/c</uri></contributor>",
    "<rights>TEXT</rights>",
    "<foo:bar>TEXT</foo:bar>",
    '<media:thumbnail url="https://ex.com/t.png"/>',
    "<source><title>S</title></source>",
    "<dc:creator>DC</dc:creator>",
    "<issued>2026-01-01T00:00:00Z</issued>",
    '<author><name>A</name><gd:image rel="x" src="https://ex.com/a.png"/></author>',
    "<summary>TEXT</summary>",
    '<content src="https://ex.com/c"/>',
]


def atom_scope(rng: random.Random) -> str:
    scope = ""
    if maybe(rng, 0.2):
        scope += f' xml:base="{rng.choice(["https://base.example/a/", "/sub/", "other/", ""])}"'
    if maybe(rng, 0.2):
        scope += f' xml:lang="{pick(rng, LANGS)}"'
    return scope


def atom_feed(rng: random.Random) -> str:
    head = []
    if maybe(rng, 0.9):
        head.append(atom_text(rng, "title"))
    for _ in range(rng.randint(0, 2)):
        head.append(atom_link(rng))
    if maybe(rng, 0.6):
        head.append(f"<id>{pick(rng, GUIDS)}</id>")
    if maybe(rng, 0.4):
        head.append(atom_author(rng))
    if maybe(rng, 0.3):
        head.append("<updated>2026-01-01T00:00:00Z</updated>")
    if maybe(rng, 0.2):
        head.append('<generator uri="https://gen.example/">Gen</generator>')
    if maybe(rng, 0.2):
        head.append(atom_text(rng, "subtitle"))
    entries = [atom_entry(rng) for _ in range(rng.randint(0, 4))]
    namespaces = (
        ' xmlns:foo="urn:example:foo" xmlns:media="http://search.yahoo.com/mrss/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:gd="http://schemas.google.com/g/2005"'
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom"{namespaces}{atom_scope(rng)}>'
        + "\n".join(head + entries)
        + "</feed>"
    )


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_generated_feeds_same_as_feedparser_when_accepted(kind: str) -> None:
    rng = random.Random(20261122 if kind == "rss" else 5)
    make = rss_feed if kind == "rss" else atom_feed
    taken = 0
    for _ in range(250):
        body = make(rng).encode("utf-8")
        for url in URLS:
            taken += assert_same(body, url)
    assert taken >= 150  # many variations take the fast path, so the comparison is real


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "x">]><rss version="2.0"><channel>'
        b"<title>&e;</title><item><title>a</title></item></channel></rss>",
        b'<rss version="2.0"><channel><item base="https://ex.com/"><title>a</title>'
        b"</item></channel></rss>",
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        b' xmlns="http://purl.org/rss/1.0/"><item><title>a</title></item></rdf:RDF>',
        b'<rss version="2.0"><channel><item><title>a &amp b</title></item></channel></rss>',
        b'<rss version="2.0"><channel><item><description><p>raw</p></description></item>'
        b"</channel></rss>",
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="xhtml">'
        b'<div xmlns="http://www.w3.org/1999/xhtml">x</div></content></entry></feed>',
        b'<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><item>'
        b"<media:description>d</media:description></item></channel></rss>",
        b'<feed xmlns="http://purl.org/atom/ns#" version="0.3"><entry><title>a</title>'
        b"</entry></feed>",
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="application/pdf">'
        b"eA==</content></entry></feed>",
        b'<rss version="2.0" xmlns:x="urn:a"><channel><item xmlns:x="urn:b"><x:t>1</x:t>'
        b"<title>a</title></item></channel></rss>",
    ],
    ids=[
        "doctype",
        "base-attribute",
        "rdf",
        "broken",
        "raw-markup",
        "xhtml",
        "media-description",
        "atom03",
        "base64",
        "rebound-prefix",
    ],
)
def test_unusual_bodies_are_left_to_feedparser(body: bytes) -> None:
    assert feed_fast.read_feed(transcode_to_utf8(body).body, url=None) is None
    assert outcome(body, None, fast=True) == outcome(body, None, fast=False)


# -- the helpers the fast path relies on ----------------------------------------------------

MARKUP_PIECES = [
    "<p>", "</p>", "<br>", "<br/>", "<br />", "</br>", "<b>", "</b>", '<a href="x?a=1&amp;b=2">',
    "</a>", "<div class='c'>", "</div>", "<script>", "</script>", "<style>", "x", " ", "\n",
    "&amp;", "&lt;", "&gt;", "&nbsp;", "&#39;", "&#150;", "&#x1F600;", "&foo;", "&amp", "& ",
    "<", ">", "<!-- c -->", '<img src="a.png" alt="x"/>', "<P>", "</P >", "<h1>", "<li>",
    "é", "😀", "\t", "<![CDATA[x]]>", "<?pi?>", "<!DOCTYPE html>", "<td>", "</ td>", "<title>",
    "</title>", "&#0;", "&AMP;", "&hellip;", "AT&T", '<a\nhref="x">', "<b/>", "<p class=x>",
    "<span title='a'>", "&apos;", "<FONT color='red'>", "</font>", "<iframe>", "<hr/>",
    "<span>", "</span>", "<em>", "</li>", "<blockquote>", "</blockquote>", "&quot;", "<br >",
    '<img src="a.png" alt="x" />', "<br class='c'/>", '<hr class="x"/>', "<article>", "</article>",
    '<time datetime="2020">', "</time>", "<section>", "</section>", "<caption>", "&#8217;",
    '<img src="/rel.png">', "<nav>", "</header>", '<a href="/x" rel="nofollow">',
]  # fmt: skip


def reference_html_to_text(markup: str) -> str:
    """html_to_text before its fast path: always the full HTMLParser."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return tidy_whitespace(markup)
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return tidy_whitespace("".join(parser.parts))


def random_markup(rng: random.Random) -> str:
    return "".join(rng.choice(MARKUP_PIECES) for _ in range(rng.randint(0, 12)))


def test_html_to_text_fast_path_matches_the_full_parser() -> None:
    rng = random.Random(7)
    for _ in range(20_000):
        markup = random_markup(rng)
        assert html_to_text(markup) == reference_html_to_text(markup), markup


def test_tidy_whitespace_matches_collapsing_every_run() -> None:
    runs, breaks = re.compile(r"[ \t\r\f\v\u00a0]+"), re.compile(r"\s*\n\s*")
    rng = random.Random(2)
    pieces = [" ", "  ", "\t", "\r", "\n", "\f", "\v", "\u00a0", "\u2028", "\u3000", "\x1c",
              "\x85", "a", "é", "\r\n", "x y"]  # fmt: skip
    for _ in range(20_000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        expected = breaks.sub("\n", runs.sub(" ", value)).strip()
        assert tidy_whitespace(value) == expected, repr(value)


def test_html_to_text_plain_and_simple_inputs() -> None:
    assert html_to_text("plain  text\n\n here") == "plain text\nhere"
    assert html_to_text("<p>One &amp; two</p><p>three<br/>four</p>") == "One & two\nthree\nfour"
    assert html_to_text("<script>x</script>shown") == "shown"
    assert html_to_text("a < b") == "a < b"


def test_text_stable_html_keeps_its_text_through_feedparsers_sanitizer() -> None:
    rng = random.Random(11)
    stable = 0
    for _ in range(20_000):
        markup = random_markup(rng).strip()
        if not feed_compat.is_text_stable_html(markup):
            continue
        stable += 1
        cleaned = resolve_relative_uris(markup, "https://ex.com/", "utf-8", "text/html")
        cleaned = _sanitize_html(cleaned, "utf-8", "text/html")
        assert html_to_text(cleaned) == html_to_text(markup), markup
    assert stable > 500


def test_quick_stable_markup_is_a_subset_of_the_full_check() -> None:
    for tag in ("p", "b", "i", "em", "strong", "li", "ul", "ol", "div", "span", "blockquote"):
        assert feed_compat._QUICK_STABLE.fullmatch(f"<{tag}>x &amp; y</{tag}><br/>")
        assert tag in feed_compat._STABLE_TAGS
        assert feed_compat.is_text_stable_html(f"<{tag}>x</{tag}>")


def test_join_url_matches_feedparser() -> None:
    rng = random.Random(3)
    pieces = ["https://", "http://", "HTTP://", "ex.com", "/a", "/b/", "?q=1", "&x=2", "#f", ";p",
              "..", "./", "//", ":8080", "%20", "?", "#", " ", "é", "@", "[::1]"]  # fmt: skip
    for base in ("", "https://ex.com/feed/", "http://other.org/x?y"):
        for _ in range(3_000):
            uri = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
            assert feed_compat.join_url(base, uri) == _urljoin(base, uri), (base, uri)


def reference_is_absolute_http(value: str | None) -> bool:
    if not value:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def reference_unwrap_redirect(link: str) -> str:
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    if parts.path != "/url" or not (host == "google.com" or host.endswith(".google.com")):
        return link
    query = parse_qs(parts.query)
    for key in ("url", "q"):
        for target in query.get(key, []):
            if reference_is_absolute_http(target):
                return target
    return link


def outcome_of(function: Callable[[str], object], value: str) -> object:
    try:
        return function(value)
    except ValueError as exc:
        return ("ValueError", str(exc))


def test_url_shortcuts_match_urlsplit() -> None:
    rng = random.Random(5)
    pieces = ["http", "HTTPS", "https", "://", ":/", "//", "a", "Z9", "\n", "\t", " ", "/",
              "?", "#", "@", ".", "x.com", "[", "]", "é", "GOOGLE.com", "www.google.com",
              "/url", "?url=", "&q=", "https://r.org/"]  # fmt: skip
    for _ in range(20_000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        assert outcome_of(is_absolute_http, value) == outcome_of(
            reference_is_absolute_http, value
        ), value
        assert outcome_of(unwrap_redirect, value) == outcome_of(reference_unwrap_redirect, value), (
            value
        )
