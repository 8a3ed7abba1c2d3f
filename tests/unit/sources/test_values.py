from datetime import UTC, datetime

import pytest

from earful.errors import ParseError
from earful.mention import RawMention
from earful.sources.base import ParseResult
from earful.sources.values import keep_or_note, keep_parsed, load_cursor, load_json, parse_iso_utc


def test_parse_iso_utc_reads_z_offsets_and_naive_as_utc() -> None:
    expected = datetime(2023, 6, 20, 10, 11, 12, tzinfo=UTC)
    assert parse_iso_utc("2023-06-20T10:11:12Z") == expected
    assert parse_iso_utc("2023-06-20T12:11:12+02:00") == expected
    naive = parse_iso_utc("2023-06-20T10:11:12")
    assert naive == expected and naive is not None and naive.tzinfo is UTC


@pytest.mark.parametrize("raw", [None, "", 17, "yesterday", ["2023-06-20"]])
def test_parse_iso_utc_refuses_non_timestamps(raw: object) -> None:
    assert parse_iso_utc(raw) is None


def test_load_json_names_the_connector() -> None:
    assert load_json(b'{"a": 1}', "github") == {"a": 1}
    with pytest.raises(ParseError) as info:
        load_json(b"<html>", "github")
    assert info.value.reason == "json" and "github: not JSON" in str(info.value)


def test_load_cursor_starts_afresh_on_unset_or_broken() -> None:
    assert load_cursor(None) is None and load_cursor("") is None and load_cursor("{x") is None
    assert load_cursor('{"k": "v"}') == {"k": "v"} and load_cursor("12.5") == 12.5


def test_keep_or_note_keeps_a_mention_or_notes_the_problem() -> None:
    result = ParseResult(mentions=[])
    mention = RawMention(source="github", external_id="1", url=None, text="hi")
    keep_or_note(result, mention, "unused")
    keep_or_note(result, None, "github: an item without id was skipped")
    assert result.mentions == [mention]
    assert result.problems == ["github: an item without id was skipped"]


def test_keep_parsed_skips_only_the_malformed_item() -> None:
    def build(item: dict[str, object]) -> RawMention:
        return RawMention(source="lemmy", external_id=str(item["id"]), url=None, text="hi")

    result = ParseResult(mentions=[])
    keep_parsed(result, build, {"id": 1}, "lemmy: skipped")
    keep_parsed(result, build, 17, "lemmy: skipped")
    keep_parsed(result, build, {}, "lemmy: skipped")
    assert [m.external_id for m in result.mentions] == ["1"]
    assert result.problems[0] == "lemmy: skipped"
    assert result.problems[1].startswith("lemmy: skipped: KeyError")
