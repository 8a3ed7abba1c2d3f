"""The core of the distributed runner without a broker: ticks, claims, polls under a claim
token, pushed batches, structured logs, and the Celery configuration."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.bench.workload import BRANDS, feed_bodies
from earful.clock import SimulatedClock
from earful.errors import StorageError, TransientSourceError
from earful.mention import Engagement, RawMention
from earful.run import distributed
from earful.settings import Settings
from earful.sources.http import make_client
from earful.store import repository
from earful.store.db import run_in_transaction
from earful.store.models import Mention, MentionBrand

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BODIES = {f"/f{i}.xml": body for i, body in enumerate(feed_bodies(60, per_feed=20))}


def write_config(directory: Path, paths: list[str]) -> None:
    brands = "brands:\n" + "".join(f"  - name: {b}\n    queries: ['\"{b}\"']\n" for b in BRANDS)
    sources = "sources:\n" + "".join(
        f"  - name: {p[1:-4]}\n    kind: rss\n    url: https://feeds.test{p}\n    interval: 10m\n"
        for p in paths
    )
    (directory / "brands.yaml").write_text(brands)
    (directory / "sources.yaml").write_text(sources)


class Server:
    """httpx.MockTransport over BODIES, counting requests per path."""

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests[path] = self.requests.get(path, 0) + 1
        return httpx.Response(200, content=BODIES[path], headers={"Content-Type": "text/xml"})


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
def rt(tmp_path: Path, sqlite_engine: Engine, server: Server) -> Iterator[distributed.Runtime]:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    write_config(config_dir, ["/f0.xml", "/f1.xml"])
    settings = Settings(config=config_dir, host_min_interval_s=0, max_retries=0)  # type: ignore[call-arg]
    http = make_client(settings, transport=httpx.MockTransport(server))
    runtime = distributed.Runtime(
        settings=settings, engine=sqlite_engine, http=http, clock=SimulatedClock(T0)
    )
    yield runtime
    http.close()


def lock_owner(engine: Engine, name: str) -> str | None:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT lock_owner FROM source_state WHERE name = :n"), {"n": name}
        ).one_or_none()
    return None if row is None else row[0]


def mention_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM mention")).scalar_one())


def test_tick_enqueues_each_due_source_after_its_claim_committed(
    rt: distributed.Runtime,
) -> None:
    seen: list[tuple[str, str | None]] = []

    def enqueue(claim: distributed.Claim) -> None:
        # Read from another connection: the claim must be committed already.
        seen.append((claim.token, lock_owner(rt.engine, claim.source)))

    claims = distributed.tick(rt, enqueue)
    assert sorted(c.source for c in claims) == ["f0", "f1"]
    assert [owner for _, owner in seen] == [token for token, _ in seen]
    assert all(token.startswith("tick:") for token, _ in seen)
    # A second tick (another beat) finds them claimed and sends nothing.
    assert distributed.tick(rt, enqueue) == []
    assert len(seen) == 2


def test_poll_under_claim_then_nothing_is_due_until_the_interval(
    rt: distributed.Runtime, server: Server
) -> None:
    claims = distributed.tick(rt, lambda c: None)
    results = [distributed.poll_claimed(rt, c.source, c.token) for c in claims]
    assert {r["status"] for r in results} == {"ok"}
    assert sum(r["new"] for r in results) == mention_count(rt.engine) > 0
    assert lock_owner(rt.engine, "f0") is None
    assert distributed.tick(rt, lambda c: None) == []
    assert isinstance(rt.clock, SimulatedClock)
    rt.clock.advance(timedelta(minutes=11))
    assert sorted(c.source for c in distributed.tick(rt, lambda c: None)) == ["f0", "f1"]
    assert server.requests == {"/f0.xml": 1, "/f1.xml": 1}


def test_a_duplicate_message_does_not_poll_again(rt: distributed.Runtime, server: Server) -> None:
    claim = distributed.tick(rt, lambda c: None)[0]
    assert distributed.poll_claimed(rt, claim.source, claim.token)["status"] == "ok"
    assert distributed.poll_claimed(rt, claim.source, claim.token) == {
        "source": claim.source,
        "status": "stale",
    }
    assert sum(server.requests.values()) == 1


def test_a_redelivered_message_resumes_its_claim(rt: distributed.Runtime, server: Server) -> None:
    claim = distributed.tick(rt, lambda c: None)[0]
    # The first worker died after the claim: the lease still names the token, so the same
    # message handed to another worker polls, and stores the batch once.
    first = distributed.poll_claimed(rt, claim.source, claim.token)
    stored = mention_count(rt.engine)
    run_in_transaction(
        rt.engine,
        lambda s: repository.claim_source(
            s, claim.source, owner=claim.token, now=T0, lease=timedelta(minutes=5)
        ),
    )
    again = distributed.poll_claimed(rt, claim.source, claim.token)
    assert first["new"] > 0 and again["status"] == "ok" and again["new"] == 0
    assert mention_count(rt.engine) == stored


def test_claim_due_lets_go_of_a_source_polled_meanwhile(rt: distributed.Runtime) -> None:
    def work(session: Session) -> bool:
        state = repository.get_or_create_source_state(session, name="f0", kind="rss")
        state.next_poll_at = T0 + timedelta(minutes=5)  # a racing worker just polled it
        session.add(state)
        session.flush()
        return distributed.claim_due(
            session, "f0", "rss", token="tick:x", now=T0, lease=timedelta(minutes=1)
        )

    assert run_in_transaction(rt.engine, work) is False
    assert lock_owner(rt.engine, "f0") is None


def test_a_source_added_to_the_config_is_due_at_the_next_tick(rt: distributed.Runtime) -> None:
    assert len(distributed.tick(rt, lambda c: None)) == 2
    write_config(rt.settings.config, ["/f0.xml", "/f1.xml", "/f2.xml"])
    assert [c.source for c in distributed.tick(rt, lambda c: None)] == ["f2"]


def test_a_removed_source_releases_its_claim(rt: distributed.Runtime, server: Server) -> None:
    claims = {c.source: c for c in distributed.tick(rt, lambda c: None)}
    write_config(rt.settings.config, ["/f0.xml"])
    result = distributed.poll_claimed(rt, "f1", claims["f1"].token)
    assert result["status"] == "removed"
    assert lock_owner(rt.engine, "f1") is None
    assert server.requests == {}


def test_a_broken_config_keeps_the_previous_one(rt: distributed.Runtime) -> None:
    before = rt.config()
    (rt.settings.config / "sources.yaml").write_text("sources: [{name: x, kind: nope}]\n")
    assert rt.config() is before


def test_pushed_batch_round_trips_json_and_is_idempotent(rt: distributed.Runtime) -> None:
    raws = [
        RawMention(
            source="bluesky",
            external_id=f"at://x/{i}",
            url=f"https://bsky.app/p/{i}",
            text=f"{BRANDS[0]} lost my bag again, terrible",
            author="someone",
            published_at=T0,
            engagement=Engagement(likes=i),
        )
        for i in range(5)
    ] + [RawMention(source="bluesky", external_id="noise", url=None, text="nothing here")]
    payload = distributed.batch_payload(raws)
    assert [distributed.raw_from_json(p).to_dict() for p in payload] == payload
    first = distributed.process_pushed(rt, payload, "jetstream")
    second = distributed.process_pushed(rt, payload, "jetstream")
    assert first["new"] == 5 and first["rejected"] == {"no_brand": 1}
    assert second["new"] == 0 and second["stored"] == 5
    assert mention_count(rt.engine) == 5


def test_risk_follow_up_is_enqueued_after_commit_with_the_stored_ids(
    rt: distributed.Runtime,
) -> None:
    sent: list[tuple[list[int], int]] = []
    # Another connection must see the rows when the follow-up is sent.
    rt.risk_enqueuer = lambda ids: sent.append((ids, mention_count(rt.engine)))
    raw = RawMention(source="x", external_id="1", url=None, text=f"{BRANDS[1]} is awful")
    distributed.process_pushed(rt, distributed.batch_payload([raw]), None)
    assert len(sent) == 1
    ids, visible = sent[0]
    assert len(ids) == 1 and visible == 1


def test_follow_up_tasks_run_on_a_store_with_nothing_to_do(
    rt: distributed.Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="earful.run.distributed")
    assert distributed.deliver_notifications(rt) >= 0
    assert distributed.check_sla(rt) >= 0
    assert distributed.evaluate_risk(rt, []) >= 0


def test_log_records_carry_task_and_source() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    flt = distributed.TaskContextFilter()
    with distributed.log_context("abc-123", "feed9"):
        flt.filter(record)
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    flt.filter(outside)
    line = logging.Formatter(distributed.LOG_FORMAT).format(record)
    assert "task=abc-123 source=feed9" in line
    assert (outside.task_id, outside.source) == ("-", "-")  # type: ignore[attr-defined]


def test_source_health_rows(rt: distributed.Runtime) -> None:
    claims = distributed.tick(rt, lambda c: None)
    distributed.poll_claimed(rt, claims[0].source, claims[0].token)
    with Session(rt.engine) as session:
        rows = {r["source"]: r for r in distributed.source_health(session, rt.config(), T0)}
    assert rows[claims[0].source]["status"] == "ok"
    assert rows[claims[1].source]["status"] == "never polled"
    assert rows[claims[1].source]["polling"] is True


def test_celery_config_guarantees() -> None:
    from earful.run.celery_config import QUEUES, TASK_ROUTES, celery_config, transport_options
    from workers.app import app
    from workers.tasks import EarfulTask

    conf = celery_config(Settings(visibility_timeout_s=5))  # type: ignore[call-arg]
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert 0 < conf["task_soft_time_limit"] < conf["task_time_limit"]
    assert conf["worker_send_task_events"] is True
    assert conf["broker_transport_options"]["visibility_timeout"] == 5
    assert transport_options(3600)["unacked_restore_throttle"] == 10
    assert {r["queue"] for r in TASK_ROUTES.values()} <= set(QUEUES)
    app.loader.import_default_modules()
    assert set(TASK_ROUTES) <= set(app.tasks)
    for entry in conf["beat_schedule"].values():
        assert entry["task"] in app.tasks
    assert Exception not in EarfulTask.autoretry_for
    assert TransientSourceError in EarfulTask.autoretry_for
    assert StorageError in EarfulTask.autoretry_for
    assert EarfulTask.retry_jitter and EarfulTask.retry_backoff


def test_status_without_a_broker_says_so_and_shows_sources(
    rt: distributed.Runtime, sqlite_url: str
) -> None:
    import json

    from typer.testing import CliRunner

    from earful.cli import app

    distributed.tick(rt, lambda c: None)
    env = {"EARFUL_BROKER_URL": "redis://127.0.0.1:1/0"}
    args = ["--config", str(rt.settings.config), "--db", sqlite_url, "status"]
    result = CliRunner().invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["broker"]["ok"] is False and "unreachable" in data["broker"]["error"]
    assert [s["source"] for s in data["sources"]] == ["f0", "f1"]
    human = CliRunner().invoke(app, args, env=env)
    assert human.exit_code == 0 and "no broker at redis://127.0.0.1:1/0" in human.output


def test_batch_sender_hands_json_batches_to_the_task(rt: distributed.Runtime) -> None:
    sent: list[tuple[list[dict[str, object]], str | None]] = []
    sink = distributed.batch_sender(lambda batch, name: sent.append((batch, name)), "jetstream")
    raw = RawMention(source="bluesky", external_id="a", url=None, text=f"{BRANDS[2]} rocks")
    sink([])
    sink([raw])
    assert sent == [([raw.to_dict()], "jetstream")]
    assert distributed.process_pushed(rt, *sent[0])["new"] == 1


def test_tasks_run_the_core_with_the_task_id_in_the_logs(
    rt: distributed.Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from workers import tasks

    monkeypatch.setattr(tasks, "_runtime", rt)
    caplog.set_level(logging.INFO)
    for handler in [caplog.handler]:
        handler.addFilter(distributed.TaskContextFilter())
    claims = distributed.tick(rt, lambda c: None)
    result = tasks.poll_source.apply(args=(claims[0].source, claims[0].token), task_id="t-42")
    assert result.get()["status"] == "ok"
    polled = [r for r in caplog.records if "fetched" in r.getMessage()]
    assert polled and polled[0].task_id == "t-42"  # type: ignore[attr-defined]
    assert polled[0].source == claims[0].source  # type: ignore[attr-defined]


def test_a_tick_whose_broker_fails_frees_the_unsent_claims(rt: distributed.Runtime) -> None:
    def enqueue(claim: distributed.Claim) -> None:
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        distributed.tick(rt, enqueue)
    assert lock_owner(rt.engine, "f0") is None and lock_owner(rt.engine, "f1") is None
    assert len(distributed.tick(rt, lambda c: None)) == 2


@pytest.mark.parametrize(
    ("error", "calls", "ok"),
    [
        (StorageError("database error: connection refused", reason="db"), 3, True),
        (TransientSourceError("HTTP 503", reason="http_503"), 3, True),
        (ValueError("a bug"), 1, False),
    ],
)
def test_tasks_retry_transient_errors_only(
    rt: distributed.Runtime,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    calls: int,
    ok: bool,
) -> None:
    from workers import tasks

    attempts: list[int] = []

    def flaky(runtime: distributed.Runtime, name: str, token: str) -> dict[str, str]:
        attempts.append(1)
        if len(attempts) < 3:
            raise error
        return {"source": name, "status": "ok"}

    monkeypatch.setattr(tasks, "_runtime", rt)
    monkeypatch.setattr(distributed, "poll_claimed", flaky)
    result = tasks.poll_source.apply(args=("f0", "tick:x"))
    assert len(attempts) == calls
    assert result.successful() is ok


def test_rematch_task_follows_a_query_change_in_the_config_files(
    rt: distributed.Runtime, tmp_path: Path
) -> None:
    for claim in distributed.tick(rt, lambda c: None):
        distributed.poll_claimed(rt, claim.source, claim.token)
    brand = BRANDS[0]
    with Session(rt.engine) as s:
        linked = s.exec(select(MentionBrand).where(MentionBrand.brand == brand)).all()
    assert linked
    assert distributed.rematch_changed(rt) == 0  # first pass: the fingerprints are recorded
    texts = {b.mention_id: _text(rt.engine, b.mention_id).lower() for b in linked}
    word = next(
        w for w in ("refund", "bag", "delayed", "crashing") if any(w in t for t in texts.values())
    )
    # The admin narrows the first brand's query: its stored mentions that say ``word`` go.
    config_dir = tmp_path / "config"
    brands = (config_dir / "brands.yaml").read_text()
    narrowed = brands.replace(f"queries: ['\"{brand}\"']", f"queries: ['\"{brand}\" -{word}']", 1)
    assert narrowed != brands
    (config_dir / "brands.yaml").write_text(narrowed)
    dropped = [b for b in linked if word in texts[b.mention_id]]
    assert 0 < len(dropped) < len(linked)
    assert distributed.rematch_changed(rt) == len(dropped)
    with Session(rt.engine) as s:
        left = {
            b.mention_id for b in s.exec(select(MentionBrand).where(MentionBrand.brand == brand))
        }
    assert left == {b.mention_id for b in linked} - {b.mention_id for b in dropped}
    assert distributed.rematch_changed(rt) == 0  # nothing changed since


def _text(engine: Engine, mention_id: int) -> str:
    with Session(engine) as s:
        mention = s.get(Mention, mention_id)
        assert mention is not None
        return f"{mention.title or ''} {mention.text}"
