"""docker-compose.yml, .env.example and the Dockerfile stay honest: there is no Docker engine
here, so this test checks that every command is a real entry point of the project and every
EARFUL_* variable is a setting Earful reads."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from earful.settings import Settings
from tests.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def project_services() -> dict[str, dict[str, Any]]:
    """The services built from this project (not redis/postgres images)."""
    return {n: s for n, s in compose()["services"].items() if "build" in s}


def commands() -> list[tuple[str, list[str]]]:
    """Every command a project container runs: service commands and healthchecks."""
    found: list[tuple[str, list[str]]] = []
    for name, svc in project_services().items():
        found.append((name, [str(x) for x in svc["command"]]))
        test = svc.get("healthcheck", {}).get("test")
        if test and test[0] == "CMD":
            found.append((f"{name} healthcheck", [str(x) for x in test[1:]]))
    cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE.read_text(), re.M)
    assert cmd, "the Dockerfile has an exec-form CMD"
    found.append(("Dockerfile CMD", json.loads(cmd.group(1))))
    return found


def subcommand(argv: list[str]) -> list[str]:
    words = []
    for arg in argv[1:]:
        if arg.startswith("-"):
            break
        words.append(arg)
    return words


def test_project_services_run_known_programs() -> None:
    progs = {argv[0] for _, argv in commands()}
    assert progs <= {"earful", "celery", "python"}, progs
    for where, argv in commands():
        if argv[0] == "python":
            assert argv[1] == "-c", where
            compile(argv[2], where, "exec")  # at least valid Python
    names = set(project_services())
    assert {"migrate", "worker", "beat"} <= names


@pytest.mark.parametrize(
    ("where", "argv"),
    [c for c in commands() if c[1][0] == "earful"],
    ids=lambda v: v if isinstance(v, str) else " ".join(v),
)
def test_earful_commands_exist(where: str, argv: list[str]) -> None:
    from earful.cli import app

    result = CliRunner().invoke(app, [*subcommand(argv), "--help"])
    assert result.exit_code == 0, f"{where}: `{' '.join(argv)}`: {result.output}"
    assert "Usage" in result.output


def test_celery_commands_load_the_app_with_every_task() -> None:
    from earful.run.celery_config import QUEUES, TASK_ROUTES
    from workers.app import app

    celery_cmds = [(w, a) for w, a in commands() if a[0] == "celery"]
    assert celery_cmds
    consumed: set[str] = set()
    for where, argv in celery_cmds:
        assert argv[1:3] == ["-A", "workers.app"], where
        assert argv[3] in {"worker", "beat", "inspect"}, where
        for arg in argv:
            if arg.startswith("--queues="):
                queues = set(arg.split("=", 1)[1].split(","))
                assert queues <= set(QUEUES), where
                consumed |= queues
    assert consumed == set(QUEUES), "every queue has a worker service"
    app.loader.import_default_modules()
    assert set(TASK_ROUTES) <= set(app.tasks)
    for sub in sorted({argv[3] for _, argv in celery_cmds}):
        run = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "workers.app", sub, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr


def used_earful_vars() -> dict[str, str]:
    """EARFUL_* names set or interpolated anywhere in compose and .env.example."""
    found: dict[str, str] = {}
    text = COMPOSE.read_text()
    for var in re.findall(r"\b(EARFUL_[A-Z0-9_]+)", text):
        found[var] = "docker-compose.yml"
    for line in ENV_EXAMPLE.read_text().splitlines():
        m = re.match(r"^\s*(EARFUL_[A-Z0-9_]+)\s*=", line)
        if m:
            found[m.group(1)] = ".env.example"
    return found


def test_every_earful_variable_is_a_setting() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    used = used_earful_vars()
    assert {"EARFUL_DB_URL", "EARFUL_BROKER_URL", "EARFUL_SECRET_KEY"} <= set(used)
    unknown = {var: where for var, where in used.items() if var[len("EARFUL_") :] not in fields}
    assert unknown == {}


def test_env_example_values_build_settings() -> None:
    env = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        m = re.match(r"^\s*(EARFUL_[A-Z0-9_]+)\s*=(.*)$", line)
        if m:
            env[m.group(1)[len("EARFUL_") :].lower()] = m.group(2).strip()
    env["secret_key"] = "x" * 40  # the example leaves it for the admin to fill in
    settings = Settings(**env)  # type: ignore[arg-type]
    assert settings.env == "production"
    with pytest.raises(ValueError):
        Settings(**{**env, "secret_key": ""})  # type: ignore[arg-type]


def test_services_wait_for_what_they_need() -> None:
    data = compose()
    services = data["services"]
    for name in ("redis", "postgres"):
        assert "healthcheck" in services[name], name
    assert [str(x) for x in services["migrate"]["command"]] == ["earful", "db", "upgrade"]
    for name, svc in services.items():
        for dep, rule in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert rule["condition"] in {"service_healthy", "service_completed_successfully"}
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith("."):
                assert source in data["volumes"], f"{name}: named volume {source}"
        if "build" in svc:
            assert svc["env_file"] == ".env"
    for name in ("worker", "beat", "worker-notify"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_dockerfile_copies_what_the_package_needs() -> None:
    text = DOCKERFILE.read_text()
    for path in ("src", "workers", "config", "pyproject.toml"):
        assert path in text
        assert (ROOT / path).exists()
    assert Path(ROOT / "README.md").exists()


def test_published_ports_bind_loopback_unless_the_admin_opts_in() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("${WEB_BIND:-127.0.0.1}:"), (name, port)
