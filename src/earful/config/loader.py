"""Load ``config/*.yaml`` into a validated :class:`earful.config.models.AppConfig`.

Each file is composed with PyYAML into nodes (which carry line numbers), turned into plain
data while remembering the line of every key and list item, and validated by pydantic; each
validation error is mapped back to the node it came from, so a mistake reads::

    config/sources.yaml:14: sources[3].interval: expected a duration like 5m

List indexes count from 0. ``${VAR}`` / ``${VAR:-default}`` in string values are replaced from
the environment (``$${`` is a literal ``${``); values are never logged. Top-level keys starting
with ``x-`` are ignored (a place for YAML anchors, as in docker-compose). Checks that span
entries (duplicate names, unknown competitors or brands, query syntax) run after pydantic.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from earful.config.models import AppConfig
from earful.errors import ConfigError
from earful.matching.matcher import QuerySyntaxError, brand_queries, compile_query

logger = logging.getLogger(__name__)

# file name -> the one top-level key it holds; brands and sources are required.
FILES: dict[str, str] = {
    "brands.yaml": "brands",
    "sources.yaml": "sources",
    "sentiment.yaml": "sentiment",
    "risk.yaml": "risk",
    "routes.yaml": "escalation",
    "digest.yaml": "digest",
}
REQUIRED = ("brands.yaml", "sources.yaml")

_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{[^}]*\}?")
_STR_TAG = "tag:yaml.org,2002:str"
MAX_BUILT_NODES = 100_000  # values in one file after alias expansion

Path_ = tuple[str | int, ...]

# pydantic's wording -> an admin's (by error type).
_PLAIN = {
    "dict_type": "expected a mapping (indented 'key: value' lines)",
    "model_type": "expected a mapping (indented 'key: value' lines)",
    "model_attributes_type": "expected a mapping (indented 'key: value' lines)",
    "list_type": "expected a list (lines starting with '- ', or [a, b])",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
}


@dataclass
class _Marks:
    """Where each data path came from: path -> (file, 1-based line)."""

    lines: dict[Path_, tuple[str, int]] = field(default_factory=dict)

    def locate(self, path: Path_) -> tuple[str | None, int | None]:
        for end in range(len(path), 0, -1):
            hit = self.lines.get(path[:end])
            if hit is not None:
                return hit
        return None, None


def render_path(path: Path_, data: Any = None) -> str:
    """``("sources", 3, "interval")`` -> ``sources[3].interval``; with the loaded ``data``, a
    brand or source that has a name is called by it: ``reddit-support.interval``."""
    if data is not None and len(path) >= 2 and path[0] in ("brands", "sources"):
        entries = data.get(path[0]) if isinstance(data, dict) else None
        index = path[1]
        if isinstance(entries, list) and isinstance(index, int) and 0 <= index < len(entries):
            entry = entries[index]
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str) and name.strip():
                return render_path((name.strip(), *path[2:]))
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _substitute(value: str, file: str, line: int, path: Path_, env: Mapping[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        whole = m.group(0)
        if whole == "$${":
            return "${"
        name = m.group(1)
        if name is None:
            raise ConfigError(
                "malformed ${...}: write ${NAME} or ${NAME:-default}",
                file=file,
                line=line,
                field=render_path(path),
            )
        if name in env:
            return env[name]
        if m.group(2) is not None:
            return m.group(2)
        raise ConfigError(
            f"environment variable {name} is not set (set it, or write ${{{name}:-default}})",
            file=file,
            line=line,
            field=render_path(path),
        )

    return _VAR.sub(repl, value) if "$" in value else value


class _Builder:
    """Nodes -> plain data, recording the line of every path."""

    def __init__(self, loader: yaml.SafeLoader, file: str, marks: _Marks, env: Mapping[str, str]):
        self.loader, self.file, self.marks, self.env = loader, file, marks, env
        self.budget = MAX_BUILT_NODES

    def build(self, node: yaml.Node, path: Path_) -> Any:
        # Aliases share nodes, so a few hundred bytes of nested aliases expand to billions of
        # values (the "billion laughs"): stop at a budget no real config comes near.
        self.budget -= 1
        if self.budget < 0:
            raise ConfigError(
                f"more than {MAX_BUILT_NODES} values once aliases are expanded (an alias bomb?)",
                file=self.file,
                line=node.start_mark.line + 1,
                field=render_path(path),
            )
        if isinstance(node, yaml.MappingNode):
            explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
            self.loader.flatten_mapping(node)  # resolves "<<" merge keys (merged pairs first)
            out: dict[Any, Any] = {}
            declared: set[Any] = set()
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if not isinstance(key, str | int | float | bool) or key is None:
                    raise ConfigError(
                        "keys must be plain words",
                        file=self.file,
                        line=line,
                        field=render_path(path),
                    )
                if id(key_node) in explicit:
                    if key in declared:
                        raise ConfigError(
                            f"duplicate key {key!r}",
                            file=self.file,
                            line=line,
                            field=render_path((*path, str(key))),
                        )
                    declared.add(key)
                elif key in out:
                    continue  # an earlier merged mapping wins over a later one
                sub = (*path, str(key))
                self.marks.lines[sub] = (self.file, line)
                out[key] = self.build(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                sub = (*path, i)
                self.marks.lines[sub] = (self.file, item.start_mark.line + 1)
                items.append(self.build(item, sub))
            return items
        value = self.loader.construct_object(node, deep=True)
        if isinstance(value, str) and node.tag == _STR_TAG:
            return _substitute(value, self.file, node.start_mark.line + 1, path, self.env)
        return value


def _read_file(
    path: Path, display: str, marks: _Marks, env: Mapping[str, str]
) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text", file=display) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=display) from exc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        data = _Builder(loader, display, marks, env).build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = _plain_yaml(exc.problem or exc.context or "invalid YAML")
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"YAML syntax error: {problem}", file=display, line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", file=display) from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(
            "expected a mapping with one top-level key", file=display, line=node.start_mark.line + 1
        )
    return data


# PyYAML's parser wording -> an admin's (by a phrase of the problem).
_PLAIN_YAML = (
    ("expected <block end>", "this line's indentation does not match the lines above"),
    ("found character '\\t'", "a tab character: indent with spaces only"),
    ("mapping values are not allowed", "an unexpected ':' (put text containing ': ' in quotes)"),
    ("could not find expected ':'", "a line is missing its ':' (write key: value)"),
    ("found undefined alias", "an *alias with no matching &anchor"),
    ("found unexpected end of stream", "a quote or bracket is never closed"),
    ("expected ',' or ']'", "a [list] is not closed with ']'"),
    ("expected ',' or '}'", "a {mapping} is not closed with '}'"),
)


def _plain_yaml(problem: str) -> str:
    for phrase, plain in _PLAIN_YAML:
        if phrase in problem:
            return plain
    return problem


def _message(err: Mapping[str, Any], model: type[BaseModel] | None) -> str:
    msg = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if err.get("type") == "extra_forbidden":
        loc = err.get("loc", ())
        key = str(loc[-1]) if loc else "?"
        known = sorted(model.model_fields) if model is not None else []
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            return f"unknown key (did you mean {close[0]!r}?)"
        return f"unknown key (known: {', '.join(known)})" if known else "unknown key"
    if err.get("type") == "missing":
        return "required key is missing"
    return _PLAIN.get(str(err.get("type")), msg)


def _model_at(path: Path_) -> type[BaseModel] | None:
    """The pydantic model whose field an (error) path ends in, to list its known keys."""
    model: Any = AppConfig
    keyed = False  # the previous field was a dict of models: this part is its key
    for part in path[:-1]:
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return None
        found = _models_in(info.annotation)
        if not found:
            return None
        model = found[0]
        keyed = typing.get_origin(info.annotation) is dict
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _data_path(loc: tuple[Any, ...], data: Any) -> Path_:
    """Keep the parts of a pydantic ``loc`` that index into the data (drop union tags)."""
    path: list[str | int] = []
    cur = data
    for part in loc:
        if (isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)) or (
            isinstance(cur, dict) and part in cur
        ):
            cur = cur[part]
        elif isinstance(cur, dict) and isinstance(part, str):
            path.append(part)  # a missing or unknown key: the end of the path
            break
        else:
            continue
        path.append(part)
    return tuple(path)


def _cross_checks(config: AppConfig) -> list[tuple[Path_, str]]:
    """Problems that span entries: names, references, queries."""
    problems: list[tuple[Path_, str]] = []
    seen: dict[str, int] = {}
    for i, brand in enumerate(config.brands):
        key = brand.name.casefold()
        if key in seen:
            problems.append(
                (("brands", i, "name"), f"duplicate brand name (also brands[{seen[key]}])")
            )
        seen.setdefault(key, i)
        for j, query in enumerate(brand_queries(brand)):
            try:
                compile_query(query)
            except QuerySyntaxError as exc:
                where = ("brands", i, "queries", j) if brand.queries else ("brands", i, "name")
                problems.append((where, exc.message))
    names = {b.name.casefold() for b in config.brands}
    for i, brand in enumerate(config.brands):
        for j, comp in enumerate(brand.competitors):
            if comp.casefold() == brand.name.casefold():
                problems.append(
                    (("brands", i, "competitors", j), "a brand is not its own competitor")
                )
            elif comp.casefold() not in names:
                problems.append(
                    (
                        ("brands", i, "competitors", j),
                        f"{comp!r} is not a configured brand (add it to brands.yaml, "
                        "with track: false if you only want share of voice)",
                    )
                )
    seen = {}
    for i, source in enumerate(config.sources):
        if source.name in seen:
            problems.append(
                (
                    ("sources", i, "name"),
                    f"duplicate source name (also sources[{seen[source.name]}])",
                )
            )
        seen.setdefault(source.name, i)
        for j, name in enumerate(source.brands or []):
            if name.casefold() not in names:
                problems.append(
                    (("sources", i, "brands", j), f"{name!r} is not a configured brand")
                )
        if source.about is not None and source.about.casefold() not in names:
            problems.append(
                (("sources", i, "about"), f"{source.about!r} is not a configured brand")
            )
    return problems


def _cross_checks_without(data: dict[str, Any], wrong: list[Path_]) -> list[tuple[Path_, str]]:
    """The cross-entry problems of the entries that are themselves valid, so one run reports
    an unknown competitor beside a bad interval. Brands and sources with a mistake of their own
    are left out (and a reference to such a brand is not reported again); a malformed list or
    another section's mistake means there is nothing reliable to cross-check."""
    lists = ("brands", "sources")
    bad: dict[str, set[int]] = {key: set() for key in lists}
    for where in wrong:
        if len(where) < 2 or where[0] not in lists or not isinstance(where[1], int):
            return []
        bad[str(where[0])].add(where[1])
    kept: dict[str, list[int]] = {}
    trimmed = dict(data)
    for key in lists:
        entries = data.get(key)
        if not isinstance(entries, list):
            return []
        kept[key] = [i for i in range(len(entries)) if i not in bad[key]]
        trimmed[key] = [entries[i] for i in kept[key]]
    try:
        config = AppConfig.model_validate(trimmed)
    except ValidationError:
        return []
    dropped = {
        str(data["brands"][i].get("name", "")).casefold()
        for i in bad["brands"]
        if isinstance(data["brands"][i], dict)
    }

    def original(match: re.Match[str]) -> str:
        return f"{match.group(1)}[{kept[match.group(1)][int(match.group(2))]}]"

    problems: list[tuple[Path_, str]] = []
    for where, problem in _cross_checks(config):
        key, index = str(where[0]), where[1]
        assert isinstance(index, int)
        path: Path_ = (key, kept[key][index], *where[2:])
        value: Any = data
        for part in path:
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and isinstance(part, int) and part < len(value):
                value = value[part]
            else:
                value = None
        if isinstance(value, str) and value.casefold() in dropped and "configured" in problem:
            continue
        problems.append((path, re.sub(r"\b(brands|sources)\[(\d+)\]", original, problem)))
    return problems


def find_config_errors(
    directory: Path, env: Mapping[str, str] | None = None, *, by_name: bool = False
) -> tuple[AppConfig | None, list[ConfigError]]:
    """Every problem found in ``directory`` (the config when there are none).

    A file that does not parse stops checks of the whole config after it is reported.
    ``by_name``: fields of a named brand or source read ``NAME.key`` instead of
    ``sources[3].key`` (what ``earful sources check`` shows an admin).
    """
    env = os.environ if env is None else env
    directory = Path(directory)
    if not directory.is_dir():
        return None, [
            ConfigError(
                f"config directory {str(directory)!r} not found: create it (copy config/ from "
                "the Earful repository) or point --config / EARFUL_CONFIG at it",
                file=str(directory),
            )
        ]
    marks = _Marks()
    data: dict[str, Any] = {}
    errors: list[ConfigError] = []
    for name, top in FILES.items():
        path = directory / name
        display = str(path)
        if not path.exists():
            if name in REQUIRED:
                errors.append(
                    ConfigError(f"missing: create it with a top-level '{top}:' key", file=display)
                )
            continue
        try:
            content = _read_file(path, display, marks, env)
        except ConfigError as exc:
            errors.append(exc)
            continue
        if content is None:
            if name in REQUIRED:
                errors.append(
                    ConfigError(f"empty: expected a top-level '{top}:' key", file=display)
                )
            continue
        for key in content:
            if key != top and not str(key).startswith("x-"):
                line = marks.lines.get((str(key),), (display, None))[1]
                errors.append(
                    ConfigError(
                        f"unknown top-level key (this file holds '{top}:')",
                        file=display,
                        line=line,
                        field=str(key),
                    )
                )
        if top in content:
            data[top] = content[top]
        marks.lines.setdefault((top,), (display, 1))
    if errors:
        return None, errors
    named = data if by_name else None
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        wrong: list[Path_] = []
        for err in exc.errors():
            where = _data_path(tuple(err["loc"]), data)
            wrong.append(where)
            file, line = marks.locate(where)
            errors.append(
                ConfigError(
                    _message(err, _model_at(where)),
                    file=file,
                    line=line,
                    field=render_path(where, named) or None,
                )
            )
        for where, problem in _cross_checks_without(data, wrong):
            file, line = marks.locate(where)
            errors.append(
                ConfigError(problem, file=file, line=line, field=render_path(where, named))
            )
        return None, errors
    for where, problem in [*_cross_checks(config), *_env_checks(config, env)]:
        file, line = marks.locate(where)
        errors.append(ConfigError(problem, file=file, line=line, field=render_path(where, named)))
    return (None, errors) if errors else (config, [])


def _env_checks(config: AppConfig, env: Mapping[str, str]) -> list[tuple[Path_, str]]:
    """Environment variables the config names that must be set now: an Apprise channel's URL
    (only the variable's name is reported, never a value)."""
    return [
        (
            ("escalation", "channels", name, "url_env"),
            f"environment variable {ch.url_env} is not set",
        )
        for name, ch in config.escalation.channels.items()
        if ch.kind == "apprise" and ch.url_env and not env.get(ch.url_env)
    ]


def load_config(directory: Path, env: Mapping[str, str] | None = None) -> AppConfig:
    """The validated config in ``directory``; raises the first ConfigError found."""
    config, errors = find_config_errors(directory, env)
    if errors:
        raise errors[0]
    assert config is not None
    logger.debug(
        "loaded config from %s: %s brands, %s sources",
        directory,
        len(config.brands),
        len(config.sources),
    )
    return config


def config_fingerprint(directory: Path) -> str:
    """A digest of the config files' bytes: changes when any file is edited, added or removed.

    Lets a long-running process notice an edited config and reload it without a restart.
    """
    digest = hashlib.sha256()
    for name in FILES:
        path = Path(directory) / name
        try:
            body = path.read_bytes()
        except OSError:
            continue
        digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
    return digest.hexdigest()


def validate_config(directory: Path, env: Mapping[str, str] | None = None) -> list[ConfigError]:
    """All problems of the config in ``directory`` (empty when it is valid)."""
    return find_config_errors(directory, env)[1]
