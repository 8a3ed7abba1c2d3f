"""The evaluation harness: loaders, metrics, and a side-by-side run."""

from __future__ import annotations

from pathlib import Path

import pytest

from earful.sentiment.analyzer import SentimentAnalyzer
from earful.sentiment.evaluation import (
    Dataset,
    class_metrics,
    evaluate,
    human_class,
    load_datasets,
    load_service_cases,
    pearson,
    results_as_json,
    set_metrics,
)
from tests.conftest import shared_path


def write_small_sets(root: Path) -> None:
    icwsm = root / "vader_icwsm2014"
    icwsm.mkdir(parents=True)
    (icwsm / "tweets_GroundTruth.txt").write_text(
        "1\t2.5\tI love this, it is great!\r\n"
        "2\t-3.1\tThis is awful and I hate it.\r\n"
        "3\t0.1\tThe meeting is at noon.",
        encoding="utf-8",
    )
    (icwsm / "amazonReviewSnippets_GroundTruth.txt").write_text(
        "\ufeff1_1\t1.9\tWorks well, good value\r\n1_2\t-2.0\tBroke after a day, useless",
        encoding="utf-8",
    )
    tweeteval = root / "tweeteval_sentiment"
    tweeteval.mkdir()
    (tweeteval / "val_text.txt").write_text(
        "@user thanks for nothing \nWhat a wonderful day \nThe bus leaves at 5 \n",
        encoding="utf-8",
    )
    (tweeteval / "val_labels.txt").write_text("0\n2\n1\n", encoding="utf-8")


def test_human_class_thresholds() -> None:
    assert human_class(0.5) == "positive"
    assert human_class(0.49) == "neutral"
    assert human_class(-0.5) == "negative"


def test_pearson_known_values() -> None:
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1, 1, 1], [1, 2, 3]) == 0.0


def test_class_metrics_by_hand() -> None:
    gold = ["negative", "negative", "neutral", "positive"]
    pred = ["negative", "neutral", "neutral", "negative"]
    m = class_metrics(gold, pred)
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["neg_precision"] == pytest.approx(0.5)  # 1 of 2 predicted negatives
    assert m["neg_recall"] == pytest.approx(0.5)  # 1 of 2 gold negatives
    assert m["macro_recall"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    f1_neg = 0.5
    f1_neu = 2 * 0.5 * 1.0 / 1.5
    assert m["macro_f1"] == pytest.approx((f1_neg + f1_neu + 0.0) / 3)


def test_loaders_read_bom_crlf_and_trailing_spaces(tmp_path: Path) -> None:
    write_small_sets(tmp_path)
    sets = {d.name: d for d in load_datasets(tmp_path)}
    # the hand-written service set ships with the package: always there
    assert set(sets) == {"icwsm_tweets", "icwsm_amazon", "tweeteval_val", "earful_service"}
    assert sets["icwsm_amazon"].texts[0] == "Works well, good value"
    assert sets["icwsm_tweets"].ratings == [2.5, -3.1, 0.1]
    assert sets["tweeteval_val"].texts[0] == "@user thanks for nothing"
    assert sets["tweeteval_val"].labels == ["negative", "positive", "neutral"]


def test_unknown_set_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown data set"):
        load_datasets(tmp_path, ["nope"])


def test_evaluate_side_by_side(tmp_path: Path) -> None:
    write_small_sets(tmp_path)
    datasets = load_datasets(tmp_path, ["icwsm_tweets", "icwsm_amazon", "tweeteval_val"])
    seen: list[tuple[str, int]] = []
    results = evaluate(datasets, SentimentAnalyzer(), progress=lambda n, k: seen.append((n, k)))
    by_name = {r.name: r for r in results}
    assert sum(k for _, k in seen) == sum(len(d.texts) for d in datasets)
    assert "pearson_r" in by_name["icwsm_tweets"].stock
    assert "pearson_r" not in by_name["tweeteval_val"].stock
    # stock VADER reads "@user thanks for nothing" as positive; Earful as negative
    val = by_name["tweeteval_val"]
    assert val.stock["neg_recall"] == 0.0
    assert val.earful["neg_recall"] == 1.0
    out = results_as_json(results)
    assert out["sets"]["tweeteval_val"]["n"] == 3  # type: ignore[index]


def test_service_cases_ship_with_names_and_labels() -> None:
    data = load_service_cases()
    assert len(data.texts) >= 40
    assert {"United", "Delta"} <= set(data.names)
    assert set(data.labels or []) == {"negative", "neutral", "positive"}
    (result,) = evaluate([data], SentimentAnalyzer())
    assert result.stock["neg_recall"] < 0.5  # stock VADER misses most of these complaints
    assert result.earful["neg_recall"] >= 0.9
    assert result.earful["macro_recall"] > result.stock["macro_recall"] + 0.2


def test_set_metrics_on_ratings() -> None:
    data = Dataset("x", ["a", "b", "c"], ratings=[2.0, -2.0, 0.0])
    m = set_metrics(data, [0.8, -0.7, 0.0])
    assert m["pearson_r"] > 0.99
    assert m["accuracy"] == 1.0


def test_targets_on_the_shared_sets() -> None:
    """The issue's targets, measured (not tuned) on the real sets."""
    root = shared_path("data", "sentiment")
    datasets = load_datasets(root, ["icwsm_tweets", "tweeteval_test"])
    results = {r.name: r for r in evaluate(datasets, SentimentAnalyzer())}
    tweets, test = results["icwsm_tweets"], results["tweeteval_test"]
    assert tweets.stock["pearson_r"] == pytest.approx(0.872, abs=0.001)
    assert tweets.earful["pearson_r"] >= 0.86
    assert test.earful["macro_recall"] > test.stock["macro_recall"]
    assert test.earful["neg_recall"] > test.stock["neg_recall"] + 0.02
