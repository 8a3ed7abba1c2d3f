"""``earful users add|list|remove|passwd``: passwords from stdin, stored argon2-hashed."""

from __future__ import annotations

import json

from sqlmodel import Session
from typer.testing import CliRunner

from earful.cli import app
from earful.store.db import make_engine
from earful.store.users import authenticate


def _run(db: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", db, "users", *args], input=stdin)
    return result.exit_code, result.stdout


def test_add_list_passwd_remove(sqlite_url: str) -> None:
    code, out = _run(
        sqlite_url, "add", "lea", "--role", "lead", "--email", "l@x", stdin="pw-lea-123\n"
    )
    assert code == 0 and "added lea" in out
    assert _run(sqlite_url, "add", "ana", "--role", "analyst", stdin="pw-ana-123\n")[0] == 0
    assert _run(sqlite_url, "add", "lea", "--role", "lead", stdin="pw-lea-123\n")[0] != 0
    assert _run(sqlite_url, "add", "bob", "--role", "boss", stdin="pw-bob-123\n")[0] == 2
    assert _run(sqlite_url, "add", "bob", "--role", "lead", stdin="short\n")[0] != 0
    code, out = _run(sqlite_url, "list", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["name"], r["role"], r["email"]) for r in rows] == [
        ("ana", "analyst", None),
        ("lea", "lead", "l@x"),
    ]
    assert "lea" in _run(sqlite_url, "list")[1]
    assert _run(sqlite_url, "passwd", "lea", stdin="new-pass-456\n")[0] == 0
    engine = make_engine(sqlite_url)
    with Session(engine) as s:
        assert authenticate(s, name="lea", password="pw-lea-123") is None
        assert authenticate(s, name="lea", password="new-pass-456") is not None
    assert _run(sqlite_url, "remove", "ana")[0] == 0
    assert _run(sqlite_url, "remove", "ana")[0] != 0
    assert [json.loads(x)["name"] for x in _run(sqlite_url, "list", "--json")[1].splitlines()] == [
        "lea"
    ]
    engine.dispose()


def test_tokens_create_list_revoke(sqlite_url: str) -> None:
    assert _run(sqlite_url, "add", "bot", "--role", "analyst", stdin="pw-bot-123\n")[0] == 0
    result = CliRunner().invoke(
        app, ["--db", sqlite_url, "tokens", "create", "bot", "--name", "ci"]
    )
    assert result.exit_code == 0
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("earful_") and len(token) > 40
    listed = CliRunner().invoke(app, ["--db", sqlite_url, "tokens", "list", "--json"])
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["user"], r["name"], r["revoked_at"]) for r in rows] == [("bot", "ci", None)]
    assert token not in listed.stdout
    revoked = CliRunner().invoke(app, ["--db", sqlite_url, "tokens", "revoke", str(rows[0]["id"])])
    assert revoked.exit_code == 0
    listed = CliRunner().invoke(app, ["--db", sqlite_url, "tokens", "list", "--json"])
    assert json.loads(listed.stdout)["revoked_at"] is not None
    assert (
        CliRunner().invoke(app, ["--db", sqlite_url, "tokens", "create", "nobody"]).exit_code != 0
    )
