"""``/mentions/export.csv|xlsx``: the inbox's current filter as a spreadsheet, only the filtered
mentions, the formula guard applied; the inbox links to it with its filter."""

from __future__ import annotations

import csv
import html
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.config.models import AppConfig, BrandConfig
from earful.store.annotations import Change, annotate
from earful.store.export import COLUMNS
from tests.unit.web.web_factories import T0, login, make_client, make_user, store_mention

ROWS = [
    # (external id, text, label, source, brand, hours before T0)
    ("bag", "Acme lost my bag, again", "negative", "reddit", "Acme", 1),
    ("formula", '=cmd|" /C calc"!A0 Acme, "quoted"\nnext line', "negative", "rss", "Acme", 2),
    ("happy", "Acme is lovely", "positive", "rss", "Acme", 3),
    ("globex", "Globex lost my bag too", "negative", "reddit", "Globex", 4),
]


@pytest.fixture
def ids(sqlite_engine: Engine) -> dict[str, int]:
    out: dict[str, int] = {}
    with Session(sqlite_engine) as s, s.begin():
        for ext, text, label, source, brand, hours in ROWS:
            out[ext] = store_mention(
                s,
                ext,
                text,
                source=source,
                brand=brand,
                at=T0 - timedelta(hours=hours),
                label=label,
                compound=-0.7 if label == "negative" else 0.6,
            )
        annotate(s, out["bag"], Change(tags="luggage"), actor="ana", now=T0)
    return out


def _client(engine: Engine):  # type: ignore[no-untyped-def]
    make_user(engine, "ana", "analyst")
    config = AppConfig(brands=[BrandConfig(name="Acme"), BrandConfig(name="Globex")])
    return login(make_client(engine, config), "ana")


def _rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_csv_export_has_only_the_filtered_mentions(
    sqlite_engine: Engine, ids: dict[str, int]
) -> None:
    client = _client(sqlite_engine)
    answer = client.get("/mentions/export.csv", params={"brand": "Acme", "sentiment": "negative"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = _rows(answer.content)
    assert [r["id"] for r in rows] == [str(ids["bag"]), str(ids["formula"])]
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["tags"] == "luggage" and rows[0]["brand"] == "Acme"
    assert rows[1]["text"] == "'" + ROWS[1][1]  # guarded, otherwise identical

    searched = client.get("/mentions/export.csv", params={"q": '"lost my bag"'})
    assert [r["external_id"] for r in _rows(searched.content)] == ["bag", "globex"]
    everything = client.get("/mentions/export.csv")
    assert len(_rows(everything.content)) == len(ROWS)


def test_xlsx_export_and_bad_query(sqlite_engine: Engine, ids: dict[str, int]) -> None:
    client = _client(sqlite_engine)
    answer = client.get("/mentions/export.xlsx", params={"source": "rss"})
    assert answer.status_code == 200, answer.text
    sheet = load_workbook(io.BytesIO(answer.content))["mentions"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert tuple(rows[0]) == COLUMNS
    assert [r[COLUMNS.index("external_id")] for r in rows[1:]] == ["formula", "happy"]
    guarded = sheet.cell(row=2, column=COLUMNS.index("text") + 1)
    assert guarded.data_type == "s" and str(guarded.value).startswith("'=")

    bad = client.get("/mentions/export.csv", params={"q": "(acme"})
    assert bad.status_code == 400 and "position" in bad.text


def test_inbox_links_to_the_export_of_its_filter(
    sqlite_engine: Engine, ids: dict[str, int]
) -> None:
    client = _client(sqlite_engine)
    page = client.get("/mentions", params={"brand": "Acme", "q": "bag OR lovely"})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert 'href="/mentions/export.csv?brand=Acme&q=bag+OR+lovely"' in text
    assert 'href="/mentions/export.xlsx?brand=Acme&q=bag+OR+lovely"' in text
    plain = html.unescape(client.get("/mentions").text)
    assert 'href="/mentions/export.csv"' in plain
    # the mention page still answers beside the export paths
    assert client.get(f"/mentions/{ids['bag']}").status_code == 200


def test_export_needs_a_login(sqlite_engine: Engine, ids: dict[str, int]) -> None:
    answer = make_client(sqlite_engine).get("/mentions/export.csv")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
