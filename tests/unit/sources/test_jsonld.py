"""JSON-LD review pages: the seven real captures, rating scales, dates, robots.txt."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import respx

from earful.config.models import SourceConfig
from earful.errors import SourceError
from earful.sources import jsonld
from earful.sources.base import PollState
from earful.sources.http import HttpClient
from tests.conftest import fixture_bytes


def page(site: str) -> bytes:
    return fixture_bytes("jsonld_reviews", f"recipe-scrapers_{site}_jsonld.html")


@pytest.fixture(autouse=True)
def _fresh_robots() -> Iterator[None]:
    jsonld.robots_cache.clear()
    yield
    jsonld.robots_cache.clear()


@pytest.fixture
def max_retries() -> int:
    return 1


@pytest.mark.parametrize(
    ("site", "count", "aggregate"),
    [
        ("allrecipes.com", 10, (4.8, 489)),
        ("bbcgoodfood.com", 0, (4.0, 32)),
        ("delishkitchen.tv", 10, (4.1, 490)),
        ("food.com", 1, (5.0, 2)),
        ("madamecuisine.de", 13, (4.64, 495)),  # ratingCount 495, reviewCount 13
        ("pinchofyum.com", 15, (5.0, 62)),
        ("recept.se", 5, (4.4, 197)),  # 10 Review objects, each printed twice
    ],
)
def test_counts_and_aggregates(site: str, count: int, aggregate: tuple[float, int]) -> None:
    result = jsonld.parse(page(site), url=f"https://{site}/page")
    assert len(result.mentions) == count
    assert len({m.external_id for m in result.mentions}) == count
    assert jsonld.parse_aggregate(page(site)) == aggregate
    for m in result.mentions:
        assert m.url == f"https://{site}/page"
        assert m.external_id.startswith(f"https://{site}/page#review-")
        assert m.text and "<" not in m.text
        assert m.engagement.is_empty() and m.author_followers is None


def test_aggregate_only_page_has_no_mentions_and_no_problems() -> None:
    result = jsonld.parse(page("bbcgoodfood.com"))
    assert result.mentions == [] and result.problems == []


def test_allrecipes_top_level_array_person_authors_offset_dates() -> None:
    ms = jsonld.parse(page("allrecipes.com")).mentions
    # no url given: the WebPage @id of the JSON-LD is the page
    assert ms[0].url == "https://www.allrecipes.com/recipe/133948/four-cheese-margherita-pizza/"
    assert ms[0].author == "G8RTCHR" and ms[0].published_at is None and ms[0].rating == 5.0
    assert ms[0].title == "Four Cheese Margherita Pizza"
    assert ms[1].author == "Sue" and ms[1].rating == 4.0
    assert ms[1].published_at == datetime(2024, 3, 1, 23, 2, 55, 425000, tzinfo=UTC)
    assert [m.author for m in ms].count("Allrecipes Member") == 2
    assert ms[9].author == "Bobbie" and ms[9].text.startswith("WOW. My family loves this pizza.")


def test_food_com_description_string_author_human_date_string_best() -> None:
    (m,) = jsonld.parse(page("food.com"), url="https://www.food.com/recipe/x-454415").mentions
    assert m.author == "CookingONTheSide"  # trailing space trimmed
    assert m.text.startswith("We really enjoyed this soup. Using parsnips was new to me")
    assert m.published_at == datetime(2011, 10, 24, tzinfo=UTC)  # "October 24, 2011"
    assert m.rating == 5.0 and m.extra["best_rating"] == 5.0 and m.extra["rating_raw"] == 5.0
    assert m.title == "Chicken Noodle Soup With Carrots, Parsnips and Dill"
    # without a page URL nothing on the page names it (the publisher url is the site's)
    assert jsonld.parse(page("food.com")).mentions[0].url is None


def test_graph_pages_german_japanese_swedish() -> None:
    de = jsonld.parse(page("madamecuisine.de")).mentions
    assert de[0].url == "https://www.madamecuisine.de/shakshuka-schakschuka/"
    assert de[0].language == "de"
    assert de[0].author == "Alf" and de[0].published_at == datetime(2024, 11, 19, tzinfo=UTC)
    assert de[1].text.startswith("Könnte ich sehr mögen.\nEgal aus welchem Land")
    assert de[12].author == "Ola"
    yum = jsonld.parse(page("pinchofyum.com")).mentions
    assert yum[0].url == "https://pinchofyum.com/broccoli-cheese-soup"
    assert yum[9].text.startswith("Love this recipe, made it tonight for supper & the family")
    assert yum[14].author == "Donna McPhee"
    jp = jsonld.parse(page("delishkitchen.tv")).mentions
    assert jp[0].author == "はぎこ"
    assert jp[0].published_at == datetime(2021, 9, 30, 11, 16, 21, tzinfo=UTC)
    assert jp[0].rating == 5.0 and jp[0].extra["best_rating"] == 5.0
    assert jp[0].url == "https://delishkitchen.tv/recipes/153667539426083235"
    se = jsonld.parse(page("recept.se")).mentions
    # escaped slashes in the JSON ("http:\/\/...") decode to a normal URL
    assert se[0].url == "https://recept.se/recept/chokladbollar-grundrecept"
    assert [m.author for m in se] == ["Tage", "Parvin", "Ali", "Oscar", "Anna-Lena Larsson"]
    assert se[0].published_at == datetime(2024, 1, 26, tzinfo=UTC)  # dateCreated
    assert se[0].rating is None  # these reviews carry no rating


def test_recept_duplicates_are_noted() -> None:
    result = jsonld.parse(page("recept.se"))
    assert len(result.problems) == 5 and "duplicate review" in result.problems[0]


def test_rating_scaled_to_five_and_stable_ids() -> None:
    html = b"""<html><script type="application/ld+json">
    {"@context": "https://schema.org", "@type": "Product", "name": "Acme Phone",
     "review": [{"@type": "Review", "@id": "#r1", "reviewBody": "Broke in a week &amp; no refund",
                 "author": [{"@type": "Person", "name": "Ann"}],
                 "reviewRating": {"ratingValue": "2", "bestRating": "10"},
                 "datePublished": "2024-05-01T10:00:00+02:00"},
                {"@type": "Review", "reviewBody": "ok", "author": "Bo",
                 "reviewRating": {"ratingValue": 8, "bestRating": 10}}]}
    </script></html>"""
    ms = jsonld.parse(html, url="https://shop.example/p/1").mentions
    assert ms[0].external_id == "https://shop.example/p/1#r1"
    assert ms[0].rating == 1.0 and ms[0].extra["rating_raw"] == 2.0
    assert ms[0].text == "Broke in a week & no refund"
    assert ms[0].published_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert ms[0].title == "Acme Phone"
    assert ms[1].rating == 4.0
    # a new review at the top of the page does not shift the ids of the others
    prepended = html.replace(
        b'"review": [', b'"review": [{"@type": "Review", "reviewBody": "new one", "author": "Cy"},'
    )
    again = jsonld.parse(prepended, url="https://shop.example/p/1").mentions
    assert [m.external_id for m in again[1:]] == [m.external_id for m in ms]


def test_broken_block_is_a_problem_not_a_crash() -> None:
    html = b'<script type="application/ld+json">{"@type": "Review",</script>' + page("food.com")
    result = jsonld.parse(html, url="https://www.food.com/r")
    assert len(result.mentions) == 1 and "not valid JSON" in result.problems[0]


# ------------------------------------------------------------------------ fetch + robots


@respx.mock
def test_fetch_reads_robots_once_per_host(client: HttpClient) -> None:
    robots = respx.get("https://www.food.com/robots.txt").mock(
        return_value=httpx.Response(200, text="User-agent: *\nDisallow: /private/\n")
    )
    a = respx.get("https://www.food.com/recipe/a").mock(
        return_value=httpx.Response(200, content=page("food.com"))
    )
    b = respx.get("https://www.food.com/recipe/b").mock(
        return_value=httpx.Response(200, content=page("food.com"))
    )
    cfg = SourceConfig(
        name="food",
        kind="jsonld",
        params={"urls": ["https://www.food.com/recipe/a", "https://www.food.com/recipe/b"]},
    )
    result = jsonld.fetch(client, cfg, PollState())
    jsonld.fetch(client, cfg, PollState())
    assert robots.call_count == 1 and a.call_count == 2 and b.call_count == 2
    assert [m.url for m in result.mentions] == [
        "https://www.food.com/recipe/a",
        "https://www.food.com/recipe/b",
    ]


@respx.mock
def test_disallowed_page_is_refused_with_reason_robots(client: HttpClient) -> None:
    respx.get("https://reviews.example/robots.txt").mock(
        return_value=httpx.Response(200, text="User-agent: Earful\nDisallow: /\n")
    )
    page_route = respx.get("https://reviews.example/p").mock(return_value=httpx.Response(200))
    cfg = SourceConfig(name="r", kind="jsonld", url="https://reviews.example/p")
    with pytest.raises(SourceError) as err:
        jsonld.fetch(client, cfg, PollState())
    assert err.value.reason == "robots" and "robots.txt" in str(err.value)
    assert page_route.call_count == 0


@respx.mock
def test_missing_robots_allows_and_forbidden_robots_refuses(client: HttpClient) -> None:
    respx.get("https://a.example/robots.txt").mock(return_value=httpx.Response(404))
    respx.get("https://a.example/p").mock(
        return_value=httpx.Response(200, content=page("food.com"))
    )
    got = jsonld.fetch(
        client, SourceConfig(name="a", kind="jsonld", url="https://a.example/p"), PollState()
    )
    assert len(got.mentions) == 1
    respx.get("https://b.example/robots.txt").mock(return_value=httpx.Response(403))
    with pytest.raises(SourceError, match="disallows"):
        jsonld.fetch(
            client, SourceConfig(name="b", kind="jsonld", url="https://b.example/p"), PollState()
        )
