"""Yelp Fusion reviews: both real payloads parse (Pacific times to UTC, hrid ids for the early
format, tracking parameters dropped); fetch sends the key per business and explains a
missing/refused key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from earful.config.models import SourceConfig
from earful.errors import SourceAuthError, TransientSourceError
from earful.sources import yelp
from earful.sources.base import PollState
from earful.sources.http import HttpClient
from tests.conftest import fixture_bytes

LAPALMA = "yelp-fusion-docs-example_business_reviews_lapalma_2016.json"
GARY = "yelp-fusion-docs_businesses-id-reviews_garydanko_v3early.json"
API = "https://api.yelp.com/v3"


def yp(name: str) -> bytes:
    return fixture_bytes("yelp", name)


def source(**params: Any) -> SourceConfig:
    base: dict[str, Any] = {"api_key": "yelp-key", "businesses": ["la-palma-mexicatessen"]}
    base.update(params)
    return SourceConfig(name="yelp", kind="yelp", params=base)


# ------------------------------------------------------------------------ parse


def test_2016_reviews_with_pacific_times_converted_to_utc() -> None:
    result = yelp.parse(yp(LAPALMA))
    assert result.problems == []
    assert [m.external_id for m in result.mentions] == [
        "xAG4O7l-t1ubbwVAlPnDKg",
        "1JNmYjJXr9ZbsfZUAgkeXQ",
        "SIoiwwVRH6R2s2ipFfs4Ww",
    ]
    ella, yanni, suave = result.mentions
    # 2016-08-29 00:41:13 PDT (UTC-7)
    assert ella.published_at == datetime(2016, 8, 29, 7, 41, 13, tzinfo=UTC)
    assert ella.to_dict()["published_at"] == "2016-08-29T07:41:13Z"
    assert yanni.published_at == datetime(2016, 9, 28, 15, 55, 29, tzinfo=UTC)
    assert suave.published_at == datetime(2016, 8, 10, 14, 56, 44, tzinfo=UTC)
    assert [m.rating for m in result.mentions] == [5.0, 4.0, 4.0]
    assert [m.author for m in result.mentions] == ["Ella A.", "Yanni L.", "Suavecito M."]
    assert ella.url == (
        "https://www.yelp.com/biz/la-palma-mexicatessen-san-francisco?hrid=hp8hAJ-AnlpqxCCu7kyCWA"
    )
    assert all(m.language == "en" for m in result.mentions)  # possible_languages: ["en"]
    assert yanni.text.startswith('The "restaurant" is inside a small deli')
    assert ella.text.endswith("Still the cashier...")
    assert all(m.author_followers is None and m.engagement.is_empty() for m in result.mentions)


def test_early_v3_reviews_use_the_hrid_and_leave_time_unknown() -> None:
    mentions = yelp.parse(yp(GARY)).mentions
    assert [m.external_id for m in mentions] == [
        "OtEqx7ZndmJGqi_XR83MVQ",
        "1hulB9R4fB7b8AbZq4jZVg",
        "e_f9ELbSlKiPued9mVVTqw",
    ]
    assert all(m.published_at is None for m in mentions)
    assert all(m.language is None for m in mentions)
    assert [m.rating for m in mentions] == [5.0, 4.0, 5.0]
    assert [m.author for m in mentions] == ["Jared K.", "Jeremy S.", "Russel S."]
    assert mentions[1].text == "Great food. Boring ambiance."
    assert mentions[0].url == (
        "https://www.yelp.com/biz/gary-danko-san-francisco?hrid=OtEqx7ZndmJGqi_XR83MVQ"
    )


def test_pacific_winter_time_is_utc_minus_eight() -> None:
    assert yelp.pacific_to_utc("2016-01-15 09:00:00") == datetime(2016, 1, 15, 17, 0, tzinfo=UTC)
    assert yelp.pacific_to_utc("not a time") is None


def test_locale_in_the_url_sets_the_language() -> None:
    mentions = yelp.parse(yp(GARY), url=f"{API}/businesses/x/reviews?locale=fr_FR").mentions
    assert {m.language for m in mentions} == {"fr"}


# ------------------------------------------------------------------------ fetch


def test_fetch_reads_every_business_with_the_bearer_key(
    client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YELP_API_KEY", "env-key")
    with respx.mock() as router:
        one = router.get(f"{API}/businesses/la-palma-mexicatessen/reviews").respond(
            200, content=yp(LAPALMA)
        )
        two = router.get(f"{API}/businesses/gary-danko-san-francisco/reviews").respond(
            200, content=yp(GARY)
        )
        result = yelp.fetch(
            client,
            source(
                api_key="${YELP_API_KEY}",
                businesses=["la-palma-mexicatessen", "gary-danko-san-francisco"],
            ),
            PollState(),
        )
    assert one.calls[0].request.headers["Authorization"] == "Bearer env-key"
    assert two.call_count == 1
    assert len(result.mentions) == 6 and result.requests == 2
    assert result.mentions[3].extra["business"] == "gary-danko-san-francisco"


def test_missing_key_is_explained_without_a_request(client: HttpClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.get(f"{API}/businesses/la-palma-mexicatessen/reviews")
        with pytest.raises(SourceAuthError, match="YELP_API_KEY"):
            yelp.fetch(client, source(api_key=None), PollState())
    assert route.call_count == 0


def test_refused_key_is_an_auth_error(client: HttpClient) -> None:
    with respx.mock() as router:
        route = router.get(f"{API}/businesses/la-palma-mexicatessen/reviews").respond(
            401, json={"error": {"code": "TOKEN_INVALID", "description": "Invalid access token"}}
        )
        with pytest.raises(SourceAuthError):
            yelp.fetch(client, source(), PollState())
    assert route.call_count == 1


def test_429_and_5xx(client: HttpClient, sleeps: list[float]) -> None:
    with respx.mock() as router:
        router.get(f"{API}/businesses/la-palma-mexicatessen/reviews").mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "2"}),
                httpx.Response(503),
                httpx.Response(503),
            ]
        )
        with pytest.raises(TransientSourceError):
            yelp.fetch(client, source(), PollState())
    assert sleeps[0] == 2.0
