"""Evaluation harness: stock VADER and Earful's sentiment, side by side, on human-labelled sets.

Sets (under ``--data``, default ../shared/data/sentiment; see its MANIFEST.md):

* VADER's ICWSM-2014 ground truth (``vader_icwsm2014/*_GroundTruth.txt``: tweets, Amazon review
  snippets, movie review snippets, NYT editorial snippets), each text with the mean of 10-20+
  human ratings on -4..+4. Metrics: Pearson r of the compound score with the human mean, and
  3-class accuracy / macro-F1 where the human class is positive for a mean >= +0.5, negative
  for <= -0.5, neutral between (half a scale point either side of 0).
* TweetEval sentiment (SemEval-2017 4A) ``test`` and ``val`` splits, labels
  negative/neutral/positive. Metrics: accuracy, macro-F1, macro-averaged recall (the official
  metric), negative precision and recall.

* ``earful_service``: Earful's own hand-written customer-service mentions
  (``earful/sentiment/data/service_cases.tsv``, shipped with the package): complaints, praise and
  neutral
  questions with brand names and handles in them — the kind of text Earful is for. Written
  alongside the service lexicon, so it shows intent, not generality.

Predicted classes use ``label_for`` (compound >= 0.05 positive, <= -0.05 negative). Earful was
tuned only on TweetEval ``val`` and hand-written cases; ``test`` and the ICWSM sets are reported,
never optimised.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from earful.sentiment.analyzer import SentimentAnalyzer, label_for

logger = logging.getLogger(__name__)

LABELS = ("negative", "neutral", "positive")
ICWSM_SETS = {
    "icwsm_tweets": "tweets_GroundTruth.txt",
    "icwsm_amazon": "amazonReviewSnippets_GroundTruth.txt",
    "icwsm_movies": "movieReviewSnippets_GroundTruth.txt",
    "icwsm_nyt": "nytEditorialSnippets_GroundTruth.txt",
}
TWEETEVAL_SETS = {"tweeteval_test": "test", "tweeteval_val": "val"}
SERVICE_SET = "earful_service"
ALL_SETS = (*ICWSM_SETS, *TWEETEVAL_SETS, SERVICE_SET)
HUMAN_CLASS_AT = 0.5


@dataclass
class Dataset:
    """Texts with a human mean rating (ICWSM sets) or a human class (TweetEval)."""

    name: str
    texts: list[str]
    ratings: list[float] | None = None
    labels: list[str] | None = None
    names: tuple[str, ...] = ()  # brand names a deployment would have configured (masked)

    def gold_labels(self) -> list[str]:
        if self.labels is not None:
            return self.labels
        assert self.ratings is not None
        return [human_class(r) for r in self.ratings]


@dataclass
class SetResult:
    name: str
    n: int
    stock: dict[str, float] = field(default_factory=dict)
    earful: dict[str, float] = field(default_factory=dict)


def human_class(mean_rating: float) -> str:
    """The 3-class label of a mean human rating on -4..+4 (see the module docstring)."""
    if mean_rating >= HUMAN_CLASS_AT:
        return "positive"
    if mean_rating <= -HUMAN_CLASS_AT:
        return "negative"
    return "neutral"


def load_icwsm(path: Path, name: str) -> Dataset:
    """``ID <TAB> mean <TAB> text`` lines (UTF-8, maybe with BOM, CRLF)."""
    texts: list[str] = []
    ratings: list[float] = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        ratings.append(float(parts[1]))
        texts.append(parts[2])
    return Dataset(name, texts, ratings=ratings)


def load_tweeteval(directory: Path, split: str, name: str) -> Dataset:
    """Line-aligned ``{split}_text.txt`` and ``{split}_labels.txt`` (0 neg, 1 neu, 2 pos)."""
    texts = (directory / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    codes = (directory / f"{split}_labels.txt").read_text(encoding="utf-8").split()
    if len(texts) != len(codes):
        raise ValueError(f"{directory}/{split}: {len(texts)} texts but {len(codes)} labels")
    return Dataset(name, [t.rstrip() for t in texts], labels=[LABELS[int(c)] for c in codes])


def load_service_cases() -> Dataset:
    """Earful's hand-written service mentions (``label <TAB> text`` lines, ``#`` comments)."""
    raw = (
        resources.files("earful.sentiment").joinpath("data", "service_cases.tsv").read_text("utf-8")
    )
    texts: list[str] = []
    labels: list[str] = []
    names: tuple[str, ...] = ()
    for line in raw.splitlines():
        if line.startswith("# names:"):
            names = tuple(n.strip() for n in line.split(":", 1)[1].split(",") if n.strip())
        if not line.strip() or line.startswith("#") or line.startswith("label\t"):
            continue
        label, text = line.split("\t", 1)
        labels.append(label)
        texts.append(text)
    return Dataset(SERVICE_SET, texts, labels=labels, names=names)


def load_datasets(data_dir: Path, names: Iterable[str] = ALL_SETS) -> list[Dataset]:
    """The named sets found under ``data_dir``; missing files are skipped with a warning."""
    out: list[Dataset] = []
    for name in names:
        if name == SERVICE_SET:
            out.append(load_service_cases())
            continue
        if name in ICWSM_SETS:
            path = data_dir / "vader_icwsm2014" / ICWSM_SETS[name]
            if path.exists():
                out.append(load_icwsm(path, name))
                continue
        elif name in TWEETEVAL_SETS:
            directory = data_dir / "tweeteval_sentiment"
            if (directory / f"{TWEETEVAL_SETS[name]}_text.txt").exists():
                out.append(load_tweeteval(directory, TWEETEVAL_SETS[name], name))
                continue
        else:
            raise ValueError(f"unknown data set {name!r} (known: {', '.join(ALL_SETS)})")
        logger.warning("data set %s not found under %s", name, data_dir)
    return out


# -- metrics ---------------------------------------------------------------------------------
def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    n = len(xs)
    mx = sum(xs) / n
    my = sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return 0.0
    return sxy / math.sqrt(sxx * syy)


def class_metrics(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """accuracy, macro_f1, macro_recall, neg_precision, neg_recall over the three labels."""
    recalls: list[float] = []
    f1s: list[float] = []
    per: dict[str, tuple[float, float]] = {}
    for label in LABELS:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p == label)
        n_gold = sum(1 for g in gold if g == label)
        n_pred = sum(1 for p in pred if p == label)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label] = (precision, recall)
        recalls.append(recall)
        f1s.append(f1)
    correct = sum(1 for g, p in zip(gold, pred, strict=True) if g == p)
    return {
        "accuracy": correct / len(gold) if gold else 0.0,
        "macro_f1": sum(f1s) / 3,
        "macro_recall": sum(recalls) / 3,
        "neg_precision": per["negative"][0],
        "neg_recall": per["negative"][1],
    }


def set_metrics(data: Dataset, compounds: Sequence[float]) -> dict[str, float]:
    """The metrics of one scorer's compounds on one set (r only where humans rated)."""
    metrics: dict[str, float] = {}
    if data.ratings is not None:
        metrics["pearson_r"] = pearson(compounds, data.ratings)
    metrics.update(class_metrics(data.gold_labels(), [label_for(c) for c in compounds]))
    return metrics


def evaluate(
    datasets: Sequence[Dataset],
    analyzer: SentimentAnalyzer,
    progress: Callable[[str, int], None] | None = None,
) -> list[SetResult]:
    """Score every text with stock VADER (``raw_compound``) and Earful, compute both metrics.

    ``progress(set_name, texts_done_since_last_call)`` is called every 500 texts and at set end.
    """
    results: list[SetResult] = []
    for data in datasets:
        stock: list[float] = []
        earful: list[float] = []
        for i, text in enumerate(data.texts, 1):
            score = analyzer.score(text, names=data.names)
            stock.append(score.raw_compound)
            earful.append(score.compound)
            if progress is not None and i % 500 == 0:
                progress(data.name, 500)
        if progress is not None:
            progress(data.name, len(data.texts) % 500)
        results.append(
            SetResult(
                data.name, len(data.texts), set_metrics(data, stock), set_metrics(data, earful)
            )
        )
    return results


def results_as_json(results: Sequence[SetResult]) -> dict[str, object]:
    """``{"sets": {name: {"n", "stock": {metric: value}, "earful": {...}}}}``, values rounded."""
    return {
        "label_rule": "compound >= 0.05 positive, <= -0.05 negative",
        "human_class_rule": "mean rating >= +0.5 positive, <= -0.5 negative (ICWSM sets)",
        "sets": {
            r.name: {
                "n": r.n,
                "stock": {k: round(v, 4) for k, v in r.stock.items()},
                "earful": {k: round(v, 4) for k, v in r.earful.items()},
            }
            for r in results
        },
    }
