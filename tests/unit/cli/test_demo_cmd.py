"""`earful demo` keeps its log lines out of the story: they go to a file unless ``-v``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from earful.cli.demo_cmd import _log_to_file


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_log_lines_go_to_the_file_only(
    tmp_path: Path, root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    root_logger.addHandler(logging.StreamHandler())
    root_logger.setLevel(logging.INFO)
    log = tmp_path / "demo.log"
    _log_to_file(log)
    logging.getLogger("earful.demo").info("polled %s", "demo-video")
    assert [type(h) for h in root_logger.handlers] == [logging.FileHandler]
    assert "INFO earful.demo: polled demo-video" in log.read_text()
    assert capsys.readouterr().err == ""
