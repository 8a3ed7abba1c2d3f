"""Every config key is documented in config/README.md (Datasette's test_settings_are_documented).

Each file's keys must appear, in backticks, under that file's ``## name.yaml`` heading; nested
models are followed, so a key added to any section model fails here until it is documented.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from earful.config.loader import FILES
from earful.config.models import AppConfig, BrandConfig, SourceConfig

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "config" / "README.md"


def section_models() -> dict[str, type[BaseModel]]:
    """file name -> the model of the section it holds."""
    out: dict[str, type[BaseModel]] = {}
    for file, top in FILES.items():
        model = nested_models(AppConfig.model_fields[top].annotation)
        assert model, f"AppConfig.{top} is not a model"
        out[file] = model[0]
    return out


def nested_models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    if typing.get_origin(annotation) is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            found += nested_models(arg)
    return found


def keys_of(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    if model in seen:
        return set()
    seen.add(model)
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        keys.add(info.alias or name)
        for sub in nested_models(info.annotation):
            keys |= keys_of(sub, seen)
    return keys


def suggested_row(model: type[BaseModel], key: str) -> str:
    """A README table row for ``key`` (from the field's description), to paste and edit."""
    for sub in [model, *all_models(model)]:
        info = sub.model_fields.get(key)
        if info is not None:
            default = "required" if info.is_required() else f"`{info.get_default()!r}`"
            kind = getattr(info.annotation, "__name__", str(info.annotation))
            return f"| `{key}` | {kind} | {default} | {info.description or ''} |"
    return f"| `{key}` | | | |"


def all_models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for info in model.model_fields.values():
        for sub in nested_models(info.annotation):
            if sub not in found and sub is not model:
                found += [sub, *all_models(sub)]
    return found


def section_text(doc: str, file: str) -> str:
    match = re.search(rf"^## [^\n]*{re.escape(file)}[^\n]*\n(.*?)(?=^## |\Z)", doc, re.M | re.S)
    assert match, f"config/README.md has no '## {file}' heading"
    return match.group(1)


def test_models_are_found() -> None:
    models = section_models()
    assert models["brands.yaml"] is BrandConfig
    assert models["sources.yaml"] is SourceConfig
    assert {"name", "queries", "competitors", "timezone"} <= keys_of(BrandConfig)


@pytest.mark.parametrize("file", list(FILES))
def test_every_key_is_documented_under_its_file(file: str) -> None:
    doc = README.read_text(encoding="utf-8")
    text = section_text(doc, file)
    model = section_models()[file]
    missing = sorted(k for k in keys_of(model) if f"`{k}`" not in text)
    rows = "\n".join(suggested_row(model, k) for k in missing)
    assert not missing, f"config/README.md, section {file}: document {missing}, e.g.\n{rows}"


def test_every_top_level_key_is_documented() -> None:
    doc = README.read_text(encoding="utf-8")
    missing = sorted(k for k in AppConfig.model_fields if f"`{k}:`" not in doc)
    assert not missing, f"config/README.md: document the top-level keys {missing}"
