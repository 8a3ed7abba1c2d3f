"""Re-match against a real local HTTP server serving a recorded feed (Manton Reece's blog, from
../shared/fixtures/real/rss): ``earful run --once`` ingests with one brand config; the config
changes (an exclusion, a new brand); ``earful mentions rematch --dry-run`` changes nothing and
says what it would do; ``rematch`` does it — excluded mentions lose the brand, the new brand gains
the stored mentions it matches, an escalation on a dropped link is kept; then the run loop's own
step (``run.rematch.rematch_changed``) does the same when the config changes again."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from earful.config.loader import load_config
from earful.demo.main import FeedServer, Route
from earful.run.rematch import rematch_changed
from earful.store.db import make_engine
from tests.conftest import fixture_bytes, run_earful

pytestmark = pytest.mark.e2e

FEED = ("rss", "netnewswire_manton.rss")
QUERY = 'apple OR iphone OR "app store" OR instagram'
NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


def brands_yaml(apple_query: str, *, core: bool) -> str:
    lines = ["brands:", "  - name: Apple", f"    queries: ['{apple_query}']"]
    if core:
        lines += ["  - name: Core Intuition", """    queries: ['"core intuition"']"""]
    return "\n".join(lines) + "\n"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer({"/manton.rss": Route(fixture_bytes(*FEED), "application/rss+xml")}) as srv:
        yield srv


def earful(config: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EARFUL_HOST_MIN_INTERVAL_S": "0", "EARFUL_MAX_RETRIES": "0"}
    env["COLUMNS"] = "200"
    return run_earful("--config", str(config), "--db", db_url, *args, env=env, timeout=240)


def links(engine: Engine) -> dict[str, set[str]]:
    """brand -> external ids of the mentions linked to it."""
    out: dict[str, set[str]] = {}
    with engine.connect() as conn:
        for brand, ext in conn.execute(
            text(
                "select b.brand, m.external_id from mention_brand b "
                "join mention m on m.id = b.mention_id"
            )
        ):
            out.setdefault(brand, set()).add(ext)
    return out


def texts(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("select external_id, coalesce(title, '') || ' ' || text from mention")
        )
        return {ext: body.lower() for ext, body in rows}


def test_rematch_cli_and_the_run_loop(tmp_path: Path, server: FeedServer) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "brands.yaml").write_text(brands_yaml(QUERY, core=False))
    (config / "sources.yaml").write_text(
        f"sources:\n  - name: manton\n    kind: rss\n    url: {server.url('/manton.rss')}\n"
    )
    db_url = f"sqlite:///{tmp_path / 'earful.db'}"

    ran = earful(config, db_url, "run", "--once")
    assert ran.returncode == 0, ran.stderr
    assert server.bodies["/manton.rss"] == 1
    engine = make_engine(db_url)
    try:
        before = links(engine)
        body = texts(engine)
        apple = before["Apple"]
        assert apple == set(body) and len(apple) >= 4  # only Apple mentions were stored
        tv = {ext for ext in apple if "apple tv" in body[ext]}
        core = {ext for ext in apple if "core intuition" in body[ext]}
        assert tv and core and tv != apple, (tv, core)
        # an escalation about a mention whose link will be dropped: history must survive
        victim = sorted(tv)[0]
        with engine.begin() as conn:
            conn.execute(
                text(
                    "insert into escalation (brand, rule, incident_key, mention_id, level, risk,"
                    " reasons, posts, sources, status, opened_at) select 'Apple', 'mention_risk',"
                    " 'k1', id, 1, 80, '[]', 1, 1, 'resolved', :at from mention"
                    " where external_id = :ext"
                ),
                {"at": NOW, "ext": victim},
            )

        # the brand's query gains an exclusion; a new brand appears
        (config / "brands.yaml").write_text(brands_yaml(QUERY + ' -"apple tv"', core=True))

        dry = earful(config, db_url, "mentions", "rematch", "--dry-run", "--json")
        assert dry.returncode == 0, dry.stderr
        summary = json.loads(dry.stdout)
        by_brand = {b["brand"]: b for b in summary["brands"]}
        assert summary["dry_run"] is True and summary["scanned"] == len(body)
        assert by_brand["Apple"]["dropped"] == len(tv) and by_brand["Apple"]["added"] == 0
        assert by_brand["Apple"]["escalations_kept"] == 1
        assert by_brand["Core Intuition"]["added"] == len(core)
        assert summary["unlinked"] == len(tv - core)
        assert links(engine) == before  # a dry run changes nothing

        table = earful(config, db_url, "mentions", "rematch", "--dry-run")
        assert table.returncode == 0, table.stderr
        assert "would change" in table.stdout and "nothing was changed" in table.stderr

        done = earful(config, db_url, "mentions", "rematch", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["dry_run"] is False
        after = links(engine)
        assert after["Apple"] == apple - tv  # the excluded mentions lost the brand
        assert after["Core Intuition"] == core  # the new brand gained its stored mentions
        with engine.connect() as conn:
            assert conn.execute(text("select count(*) from mention")).scalar_one() == len(body)
            assert conn.execute(text("select count(*) from escalation")).scalar_one() == 1

        again = earful(config, db_url, "mentions", "rematch", "--json")
        assert all(b["added"] == b["dropped"] == 0 for b in json.loads(again.stdout)["brands"])

        # the run loop's step: nothing changed since the rematch saved the fingerprints ...
        assert rematch_changed(engine, load_config(config), now=NOW) is None
        # ... then the exclusion is taken back and the new brand removed from the config
        (config / "brands.yaml").write_text(brands_yaml(QUERY, core=False))
        report = rematch_changed(engine, load_config(config), now=NOW)
        assert report is not None and list(report.brands) == ["Apple"]
        assert report.brands["Apple"].added == len(tv)
        final = links(engine)
        assert final["Apple"] == apple
        assert final["Core Intuition"] == core  # a brand gone from the config keeps its links
        assert rematch_changed(engine, load_config(config), now=NOW) is None
    finally:
        engine.dispose()
