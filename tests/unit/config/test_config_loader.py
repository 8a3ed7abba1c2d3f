"""config_loader: YAML -> AppConfig, every mistake one line naming file, line and field."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from earful.config.loader import (
    config_fingerprint,
    find_config_errors,
    load_config,
    validate_config,
)
from earful.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]

BRANDS = """\
brands:
  - name: Acme
    queries: ['acme OR "acme corp"']
    competitors: [Globex]
    timezone: Europe/Paris
  - name: Globex
    queries: [globex]
    track: false
"""

SOURCES = """\
sources:
  - name: news
    kind: rss
    url: https://example.com/feed.xml
    interval: 5m
"""


def write(directory: Path, **files: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in {"brands": BRANDS, "sources": SOURCES, **files}.items():
        if body is not None:
            (directory / f"{name}.yaml").write_text(textwrap.dedent(body), encoding="utf-8")
    return directory


def error_of(directory: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(directory, env=env or {})
    return str(info.value)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in tmp_path so errors show the relative ``config/...`` paths admins see."""
    monkeypatch.chdir(tmp_path)
    return Path("config")


def test_valid_config_loads_typed_values(tmp_path: Path) -> None:
    config = load_config(write(tmp_path), env={})
    assert [b.name for b in config.brands] == ["Acme", "Globex"]
    assert config.brands[0].competitors == ["Globex"]
    assert config.brands[1].track is False
    assert config.sources[0].interval == timedelta(minutes=5)
    assert config.sources[0].enabled is True
    assert validate_config(tmp_path, env={}) == []


def test_bad_duration_names_file_line_and_field(in_tmp: Path) -> None:
    sources = SOURCES + (
        "  - name: second\n"
        "    kind: rss\n"
        "    url: https://example.com/2.xml\n"
        "    interval: every five minutes\n"
    )
    write(in_tmp, sources=sources)
    assert error_of(in_tmp) == (
        "config/sources.yaml:9: sources[1].interval: expected a duration like 5m"
    )


def test_unknown_key_suggests_the_close_one(in_tmp: Path) -> None:
    write(in_tmp, sources=SOURCES.replace("interval: 5m", "intervall: 5m"))
    assert error_of(in_tmp) == (
        "config/sources.yaml:5: sources[0].intervall: unknown key (did you mean 'interval'?)"
    )


def test_bad_timezone(in_tmp: Path) -> None:
    write(in_tmp, brands=BRANDS.replace("Europe/Paris", "Paris"))
    assert error_of(in_tmp) == (
        "config/brands.yaml:5: brands[0].timezone: unknown timezone 'Paris' (use an IANA name)"
    )


def test_missing_environment_variable_is_named_not_valued(in_tmp: Path) -> None:
    write(in_tmp, sources=SOURCES.replace("https://example.com/feed.xml", "${FEED_URL}"))
    message = error_of(in_tmp, env={"OTHER": "secret-value"})
    assert message.startswith("config/sources.yaml:4: sources[0].url: environment variable")
    assert "FEED_URL is not set" in message
    assert "secret-value" not in message


def test_environment_substitution(tmp_path: Path) -> None:
    sources = textwrap.dedent(
        """\
        sources:
          - name: alerts
            kind: rss
            url: "https://${HOST}/feeds/${FEED_ID:-default-id}?x=$${literal}"
            interval: ${POLL:-10m}
            params: {token: "${TOKEN}"}
        """
    )
    write(tmp_path, sources=sources)
    config = load_config(tmp_path, env={"HOST": "alerts.example.com", "TOKEN": "s3cret"})
    source = config.sources[0]
    assert source.url == "https://alerts.example.com/feeds/default-id?x=${literal}"
    assert source.interval == timedelta(minutes=10)
    assert source.params == {"token": "s3cret"}


def test_os_environ_is_the_default_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, sources=SOURCES.replace("example.com", "${EARFUL_TEST_HOST}"))
    monkeypatch.setenv("EARFUL_TEST_HOST", "feeds.example.org")
    assert load_config(tmp_path).sources[0].url == "https://feeds.example.org/feed.xml"


def test_malformed_query_gives_its_position(in_tmp: Path) -> None:
    brands = BRANDS.replace("""['acme OR "acme corp"']""", """[acme, '(acme OR "acme corp"']""")
    write(in_tmp, brands=brands)
    assert error_of(in_tmp) == (
        "config/brands.yaml:3: brands[0].queries[1]: missing ')' for this '(' "
        "at position 1 in '(acme OR \"acme corp\"'"
    )


def test_query_error_points_at_its_own_line_in_a_block_list(in_tmp: Path) -> None:
    brands = BRANDS.replace(
        """    queries: ['acme OR "acme corp"']\n""",
        "    queries:\n      - acme\n      - acme NEAR/x corp\n",
    )
    write(in_tmp, brands=brands)
    assert error_of(in_tmp) == (
        "config/brands.yaml:5: brands[0].queries[1]: expected NEAR/n with a number of words, "
        "like NEAR/3 at position 6 in 'acme NEAR/x corp'"
    )


def test_yaml_syntax_error_has_a_line(in_tmp: Path) -> None:
    write(in_tmp, sources="sources:\n  - name: news\n    kind: [rss\n    url: x\n")
    message = error_of(in_tmp)
    assert message.startswith("config/sources.yaml:4: YAML syntax error:")


def test_duplicate_brand_name(in_tmp: Path) -> None:
    write(in_tmp, brands=BRANDS + "  - name: ACME\n    queries: [acme]\n")
    assert error_of(in_tmp) == (
        "config/brands.yaml:9: brands[2].name: duplicate brand name (also brands[0])"
    )


def test_duplicate_source_name(in_tmp: Path) -> None:
    write(in_tmp, sources=SOURCES + "  - name: news\n    kind: hackernews\n")
    assert error_of(in_tmp) == (
        "config/sources.yaml:6: sources[1].name: duplicate source name (also sources[0])"
    )


def test_duplicate_yaml_key(in_tmp: Path) -> None:
    write(in_tmp, sources=SOURCES + "    interval: 10m\n")
    assert (
        error_of(in_tmp) == "config/sources.yaml:6: sources[0].interval: duplicate key 'interval'"
    )


def test_competitor_must_be_a_configured_brand(in_tmp: Path) -> None:
    write(in_tmp, brands=BRANDS.replace("[Globex]", "[Globex, Initech]"))
    message = error_of(in_tmp)
    assert message.startswith(
        "config/brands.yaml:4: brands[0].competitors[1]: 'Initech' is not a configured brand"
    )


def test_unknown_source_kind(in_tmp: Path) -> None:
    write(in_tmp, sources=SOURCES.replace("kind: rss", "kind: rsss"))
    assert error_of(in_tmp) == (
        "config/sources.yaml:3: sources[0].kind: unknown source kind 'rsss' (did you mean 'rss'?)"
    )


def test_missing_required_key_points_at_the_item(in_tmp: Path) -> None:
    write(in_tmp, sources="sources:\n  - name: news\n    url: https://example.com/x\n")
    assert error_of(in_tmp) == "config/sources.yaml:2: sources[0].kind: required key is missing"


def test_wrong_type(in_tmp: Path) -> None:
    write(in_tmp, sources=SOURCES + "    enabled: maybe\n")
    assert error_of(in_tmp) == "config/sources.yaml:6: sources[0].enabled: expected true or false"


def test_anchors_and_merge_keys_under_x_keys(tmp_path: Path) -> None:
    sources = (
        "x-defaults: &feed\n"
        "  kind: rss\n"
        "  interval: 2h\n"
        "sources:\n"
        "  - <<: *feed\n"
        "    name: one\n"
        "    url: https://example.com/1.xml\n"
        "  - <<: *feed\n"
        "    name: two\n"
        "    url: https://example.com/2.xml\n"
        "    interval: 1m\n"
    )
    write(tmp_path, sources=sources)
    config = load_config(tmp_path, env={})
    assert [(s.name, s.kind, s.interval) for s in config.sources] == [
        ("one", "rss", timedelta(hours=2)),
        ("two", "rss", timedelta(minutes=1)),
    ]


def test_config_fingerprint_changes_with_the_files(tmp_path: Path) -> None:
    write(tmp_path)
    before = config_fingerprint(tmp_path)
    assert config_fingerprint(tmp_path) == before
    (tmp_path / "digest.yaml").write_text("digest: {}\n", encoding="utf-8")
    assert config_fingerprint(tmp_path) != before


def test_source_brands_must_exist(in_tmp: Path) -> None:
    write(in_tmp, sources=SOURCES + "    brands: [Acme, Nobody]\n")
    assert error_of(in_tmp) == (
        "config/sources.yaml:6: sources[0].brands[1]: 'Nobody' is not a configured brand"
    )


def test_source_about_must_be_a_brand(in_tmp: Path) -> None:
    write(in_tmp, sources=SOURCES + "    about: Nobody\n")
    assert error_of(in_tmp) == (
        "config/sources.yaml:6: sources[0].about: 'Nobody' is not a configured brand"
    )


def test_wrong_top_level_key(in_tmp: Path) -> None:
    write(in_tmp, brands=BRANDS.replace("brands:", "brand:"))
    assert error_of(in_tmp) == (
        "config/brands.yaml:1: brand: unknown top-level key (this file holds 'brands:')"
    )


def test_missing_directory_says_what_to_do(tmp_path: Path) -> None:
    message = error_of(tmp_path / "nowhere")
    assert "not found" in message
    assert "--config" in message


def test_missing_sources_file(in_tmp: Path) -> None:
    write(in_tmp, sources=None)  # type: ignore[arg-type]
    assert (
        error_of(in_tmp)
        == "config/sources.yaml: missing: create it with a top-level 'sources:' key"
    )


def test_optional_sections_are_loaded_and_validated(in_tmp: Path) -> None:
    write(in_tmp, sentiment="sentiment:\n  lexicon:\n    delayed: -1.5\n")
    assert load_config(in_tmp, env={}).sentiment.lexicon == {"delayed": -1.5}
    write(in_tmp, sentiment="sentiment:\n  lexicon: {}\n  lexicom: {}\n")
    assert error_of(in_tmp) == (
        "config/sentiment.yaml:3: sentiment.lexicom: unknown key (did you mean 'lexicon'?)"
    )


def test_routes_file_holds_the_escalation_section(in_tmp: Path) -> None:
    write(in_tmp, routes="routes: {}\n")
    assert error_of(in_tmp) == (
        "config/routes.yaml:1: routes: unknown top-level key (this file holds 'escalation:')"
    )


def test_all_errors_are_reported(tmp_path: Path) -> None:
    sources = SOURCES.replace("interval: 5m", "interval: soon") + "  - name: b\n    kind: x\n"
    write(tmp_path, sources=sources)
    config, errors = find_config_errors(tmp_path, env={})
    assert config is None
    assert [e.field for e in errors] == ["sources[0].interval", "sources[1].kind"]
    assert [e.line for e in errors] == [5, 7]


def test_shipped_config_loads_without_any_environment() -> None:
    config = load_config(ROOT / "config", env={})
    united = config.brand("United Airlines")
    assert united is not None
    assert united.timezone == "America/Chicago"
    assert set(united.competitors) == {"Delta Air Lines", "American Airlines"}
    for name in united.competitors:
        competitor = config.brand(name)
        assert competitor is not None and competitor.track is False
    kinds = {s.kind for s in config.sources}
    assert {"rss", "hackernews"} <= kinds
    assert any(not s.enabled for s in config.sources)  # the Google Alerts placeholder
    assert all(s.enabled for s in config.sources if "news.google.com" in (s.url or ""))


@pytest.mark.parametrize(
    ("text", "brands"),
    [
        ("United Airlines flight diverted to Denver", ["United Airlines"]),
        ("@united lost my bag again", ["United Airlines"]),
        ("United's 787 from Newark was delayed 4 hours", ["United Airlines"]),
        ("Flights from the United States to Europe are up", []),
        ("United Airlines flights from the United States", ["United Airlines"]),
        ("Manchester United flight lands in Madrid", []),
        ("We reunited at the gate", []),
        (
            "Delta Air Lines and American Airlines report earnings",
            [
                "Delta Air Lines",
                "American Airlines",
            ],
        ),
        ("The Delta variant spread before my flight", []),
        ("Switched from @united to @delta", ["United Airlines", "Delta Air Lines"]),
    ],
)
def test_shipped_brand_queries(text: str, brands: list[str]) -> None:
    from earful.matching.matcher import MatchDoc, compile_brands

    matcher = compile_brands(load_config(ROOT / "config", env={}).brands)
    assert matcher.match(MatchDoc(text)) == brands


def test_unknown_key_inside_a_mapping_of_models(in_tmp: Path) -> None:
    write(in_tmp, risk="risk:\n  brands:\n    Acme:\n      levelz: {1: 40}\n")
    assert error_of(in_tmp) == (
        "config/risk.yaml:4: risk.brands.Acme.levelz: unknown key (did you mean 'levels'?)"
    )


def test_every_section_has_a_file() -> None:
    from earful.config.loader import FILES
    from earful.config.models import AppConfig

    assert set(FILES.values()) == set(AppConfig.model_fields)


@pytest.mark.timeout(30)
def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    # Nine levels of nine aliases: about 500 bytes, 387 million strings once expanded.
    lines = ['x-a0: &a0 ["lol"]']
    for i in range(1, 10):
        lines.append(f"x-a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    bomb = "\n".join(lines) + "\n" + SOURCES
    assert len(bomb.encode()) < 700
    write(tmp_path, sources=bomb)
    message = error_of(tmp_path)
    assert "alias bomb" in message and "sources.yaml" in message
