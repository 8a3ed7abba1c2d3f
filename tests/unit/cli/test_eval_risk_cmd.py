"""``earful eval-risk``: the JSON shape, and the table with its note on real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from earful.cli import app

ARGS = ["--config", "/nonexistent/earful-config", "eval-risk", "--cascades", "40", "--seed", "3"]


def test_eval_risk_json_shape() -> None:
    result = CliRunner().invoke(app, [*ARGS, "--json"], env={"EARFUL_CASCADE_DATA": ""})
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) == {
        "seed",
        "cascades_per_set",
        "horizons_min",
        "target",
        "real_data",
        "datasets",
        "passed",
    }
    assert body["seed"] == 3 and body["horizons_min"] == [30, 60]
    assert "synthetic data sets only" in body["real_data"]
    assert len(body["datasets"]) >= 3
    for ds in body["datasets"]:
        assert ds["kind"] == "synthetic" and ds["cascades"] == 40
        assert 0 < ds["branching_ratio"] < 1
        assert [h["minutes"] for h in ds["horizons"]] == [30, 60]
        for h in ds["horizons"]:
            assert 0 <= h["auc_count"] <= 1 and 0 <= h["auc_risk"] <= 1
            assert h["risk_minus_count"] == pytest.approx(h["auc_risk"] - h["auc_count"], abs=2e-4)
            assert isinstance(h["passed"], bool)
    assert body["passed"] == all(h["passed"] for d in body["datasets"] for h in d["horizons"])


def test_eval_risk_table_and_bad_data_dir(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ARGS, env={"EARFUL_CASCADE_DATA": "", "COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "hawkes-b0.5" in result.stdout and "30 min" in result.stdout
    assert "synthetic data sets only" in result.stdout
    bad = CliRunner().invoke(app, [*ARGS, "--data", str(tmp_path)])
    assert bad.exit_code == 2
    assert "no index.csv and data.csv" in bad.stderr


def test_eval_risk_reads_real_cascades_in_seismic_format(tmp_path: Path) -> None:
    from earful.risk.eval_cascades import SYNTHETIC_SETS, simulate

    index, data, row = ["tweet_id,post_time_day,start_ind,end_ind"], ["t,f"], 1
    for k, cascade in enumerate(simulate(SYNTHETIC_SETS[0], 40, seed=8)):
        index.append(f"{k},0.0,{row},{row + len(cascade.shares) - 1}")
        data.extend(f"{s.age_h * 3600:.0f},{s.followers}" for s in cascade.shares)
        row += len(cascade.shares)
    (tmp_path / "index.csv").write_text("\n".join(index) + "\n", encoding="utf-8")
    (tmp_path / "data.csv").write_text("\n".join(data) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, [*ARGS, "--json", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    real = [d for d in body["datasets"] if d["kind"] == "real"]
    assert len(real) == 1 and real[0]["cascades"] == 20  # the first half trains the prior
    assert body["real_data"].startswith("real: ")
