"""``earful score`` and ``earful eval-sentiment``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from earful.cli import app
from tests.conftest import run_earful, shared_path

STOCK = SentimentIntensityAnalyzer()
KEYS = {"text", "neg", "neu", "pos", "compound", "label", "raw_compound"}


def run(*args: str, stdin: str | None = None, config: Path | None = None) -> list[dict[str, Any]]:
    pre = ["--config", str(config)] if config else ["--config", "/nonexistent/earful-config"]
    result = CliRunner().invoke(app, [*pre, *args], input=stdin)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_score_texts_as_json_lines() -> None:
    rows = run("score", "the flight was delayed again", "What a lovely crew!")
    assert [r["text"] for r in rows] == ["the flight was delayed again", "What a lovely crew!"]
    assert set(rows[0]) == KEYS
    assert rows[0]["label"] == "negative"
    assert rows[1]["label"] == "positive"


def test_score_reads_stdin_lines() -> None:
    rows = run("score", stdin="never again\n\nthanks for nothing\n")
    assert [r["text"] for r in rows] == ["never again", "thanks for nothing"]
    assert all(r["label"] == "negative" for r in rows)


def test_brand_option_masks_names_without_config() -> None:
    masked = run("score", "--brand", "Glad", "Glad lost my order")
    plain = run("score", "Glad lost my order")
    assert masked[0]["compound"] < plain[0]["compound"]


def test_config_brands_and_aliases_are_masked(tmp_path: Path) -> None:
    (tmp_path / "brands.yaml").write_text(
        "brands:\n  - name: Glad Bags\n    queries: ['glad']\n    aliases: [Glad]\n",
        encoding="utf-8",
    )
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    with_config = run("score", "Glad lost my order", config=tmp_path)
    masked = run("score", "--brand", "Glad", "Glad lost my order")
    assert with_config[0]["compound"] == masked[0]["compound"]


def test_raw_equals_vader_on_icwsm_tweets() -> None:
    path = shared_path("data", "sentiment", "vader_icwsm2014", "tweets_GroundTruth.txt")
    texts = [line.split("\t")[2] for line in path.read_text(encoding="utf-8").splitlines()]
    rows = run("score", "--raw", stdin="\n".join(texts) + "\n")
    assert len(rows) == len(texts) == 4200
    for text, row in zip(texts, rows, strict=True):
        expected = STOCK.polarity_scores(text)
        assert row["text"] == text
        assert [row[k] for k in ("neg", "neu", "pos", "compound")] == [
            expected[k] for k in ("neg", "neu", "pos", "compound")
        ]


def test_raw_ignores_adjustments() -> None:
    raw = run("score", "--raw", "--brand", "United", "United thanks for nothing")
    assert raw[0]["compound"] == STOCK.polarity_scores("United thanks for nothing")["compound"]
    assert raw[0]["label"] == "positive"


def test_score_works_as_a_subprocess_without_config(tmp_path: Path) -> None:
    result = run_earful("score", "I ❤️ this", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["label"] == "positive"
    assert row["raw_compound"] == 0.0


def write_sets(root: Path) -> None:
    tweeteval = root / "tweeteval_sentiment"
    tweeteval.mkdir(parents=True)
    (tweeteval / "val_text.txt").write_text(
        "@user thanks for nothing \nWhat a wonderful day \nThe bus leaves at 5 \n",
        encoding="utf-8",
    )
    (tweeteval / "val_labels.txt").write_text("0\n2\n1\n", encoding="utf-8")


def test_eval_sentiment_json(tmp_path: Path) -> None:
    write_sets(tmp_path)
    result = CliRunner().invoke(app, ["eval-sentiment", "--data", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    val = data["sets"]["tweeteval_val"]
    assert val["n"] == 3
    assert val["stock"]["accuracy"] < val["earful"]["accuracy"]


def test_eval_sentiment_table_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_sets(tmp_path)
    monkeypatch.setenv("EARFUL_SENTIMENT_DATA", str(tmp_path))
    result = CliRunner().invoke(app, ["eval-sentiment"])
    assert result.exit_code == 0, result.output
    assert "tweeteval_val" in result.stdout
    assert "macro_recall" in result.stdout


def test_eval_sentiment_missing_data_is_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval-sentiment", "--data", str(tmp_path / "none")])
    assert result.exit_code == 2


def test_eval_sentiment_with_the_configured_section(tmp_path: Path) -> None:
    write_sets(tmp_path / "data")
    config = tmp_path / "config"
    config.mkdir()
    (config / "brands.yaml").write_text("brands: []\n", encoding="utf-8")
    (config / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    (config / "sentiment.yaml").write_text(
        "sentiment:\n  lexicon:\n    leaves: -3.0\n", encoding="utf-8"
    )
    args = ["eval-sentiment", "--data", str(tmp_path / "data"), "--json", "--set", "tweeteval_val"]
    default = CliRunner().invoke(app, ["--config", str(config), *args])
    configured = CliRunner().invoke(app, ["--config", str(config), *args, "--use-config"])
    assert default.exit_code == 0 and configured.exit_code == 0, configured.output
    neutral_ok = json.loads(default.stdout)["sets"]["tweeteval_val"]["earful"]["accuracy"]
    # "The bus leaves at 5" is now negative: the admin's entry was used
    assert json.loads(configured.stdout)["sets"]["tweeteval_val"]["earful"]["accuracy"] < neutral_ok
