"""The floor plan holds: wings import only the wings above them, the ground floor stays small.

Read from the source's own imports (``if TYPE_CHECKING:`` ones excluded, function-local ones
included), so a new arrow that runs back up fails here rather than in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "earful"

# The README's layout, top-down: a wing may import only wings earlier in this list.
ORDER = [
    *("errors", "clock", "settings", "mention", "text"),
    *("matching", "config", "sources", "sentiment", "store", "pipeline", "engagement"),
    *("escalation", "risk", "notify", "digest", "run", "web", "demo", "bench", "cli"),
]
MAX_TOP_LEVEL_MODULES = 8
MAX_MODULE_LINES = 600
MAX_ENSURE_UTC_CALLS = 12
LOOKUP_ALLOWED = ("sources/__init__.py", "cli/")


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


def _wing(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _runtime_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, imported earful module) outside ``if TYPE_CHECKING:`` blocks."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(n) for n in ast.walk(node))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
    return [(line, name) for line, name in found if name.split(".")[0] == "earful"]


def _imported_wing(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_wing_is_in_the_documented_order() -> None:
    wings = {_wing(p) for p in _modules()} - {"__init__"}
    assert wings <= set(ORDER), f"wings missing from the layout: {sorted(wings - set(ORDER))}"


def test_no_wing_imports_a_wing_below_it() -> None:
    upward: list[str] = []
    for path in _modules():
        here = _wing(path)
        if here == "__init__":
            continue
        for line, module in _runtime_imports(ast.parse(path.read_text())):
            there = _imported_wing(module)
            if there is None or there == here or there not in ORDER:
                continue
            if ORDER.index(there) > ORDER.index(here):
                upward.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert upward == []


def test_ground_floor_stays_small() -> None:
    top = sorted(p.name for p in SRC.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_no_module_is_over_the_size_limit() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_earful_modules_are_imported_not_looked_up() -> None:
    # importlib hides an arrow from readers and tools; only the connector registry and the
    # CLI's lazy command loading may use it for earful's own modules.
    users = []
    for path in _modules():
        rel = str(path.relative_to(SRC))
        if rel.startswith(LOOKUP_ALLOWED):
            continue
        text = path.read_text()
        if "import_module(" in text and "earful" in text.split("import_module(", 1)[1][:80]:
            users.append(rel)
    assert users == []


def test_ensure_utc_is_left_only_at_the_edges() -> None:
    # Stored datetimes read back aware (store.types.UTCDateTime) and clocks are aware, so
    # normalising is needed only where outside time comes in.
    calls = [
        f"{p.relative_to(SRC)}:{node.lineno}"
        for p in _modules()
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "ensure_utc"
    ]
    assert 0 < len(calls) <= MAX_ENSURE_UTC_CALLS, calls
