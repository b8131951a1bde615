"""Architecture rules, checked on the source tree with ``ast``.

1. Only ``reelforge.store`` talks to the database: no SQLAlchemy import, no store internals
   (``store.db``, ``store.tables``, ``store.api_tables``,
   ``store.event_tables``) and no ``_engine`` access elsewhere.
2. Only ``reelforge.storage.layout`` builds or parses blob keys: no ``jobs/`` or ``inputs/``
   literal, no ``.../video.mp4``-style key part, no ``.split("/")`` and no use of the layout's
   key-part constants anywhere else.

Each rule is also run on a small violating source, so the tests cannot pass vacuously.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

import reelforge
from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime

SRC = Path(reelforge.__file__).resolve().parent
STORE = SRC / "store"
LAYOUT = SRC / "storage" / "layout.py"

DATABASE_MODULES = (
    "sqlalchemy",
    "reelforge.store.db",
    "reelforge.store.tables",
    "reelforge.store.api_tables",
    "reelforge.store.event_tables",
)
KEY_PREFIXES = ("jobs/", "inputs/")
KEY_FILE_NAMES = ("first_frame.png", "video.mp4", "thumbnail.webp", "spritesheet.jpg")
LAYOUT_KEY_PARTS = frozenset({"INPUTS", "JOBS", "FIRST_FRAME", "VIDEO", "THUMBNAIL", "SPRITESHEET"})
PATH_SPLITS = frozenset({"split", "rsplit", "partition", "rpartition"})

ALLOWED_FILE_NAMES: dict[tuple[str, str], str] = {
    # Download names sent in Content-Disposition, not blob keys.
    ("api/openai_routes.py", "video.mp4"): "download file name",
    ("api/openai_routes.py", "thumbnail.webp"): "download file name",
    ("api/openai_routes.py", "spritesheet.jpg"): "download file name",
    ("api/seed_routes.py", "video.mp4"): "download file name",
    # Files in the worker's local temporary directory; layout names the keys they go to.
    ("media/render.py", "video.mp4"): "local work file name",
    ("media/render.py", "thumbnail.webp"): "local work file name",
    ("media/render.py", "spritesheet.jpg"): "local work file name",
    # An example path for ``generate -o`` in an error message.
    ("cli/generate.py", "video.mp4"): "local output file name",
}


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    rule: str

    def __str__(self) -> str:
        return f"src/reelforge/{self.path}:{self.line}: {self.rule}"


# -- the checkers ------------------------------------------------------------------------------


def database_violations(source: str, path: str, package: str) -> list[Violation]:
    """Rule 1 for one module (``package``: its package, to resolve relative imports)."""
    found: list[Violation] = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        module = next((m for m in _imported_modules(node, package) if _is_database_module(m)), "")
        if module:
            found.append(Violation(path, line, f"imports {module}"))
        if _names_engine(node):
            found.append(Violation(path, line, "accesses _engine"))
    return found


def blob_key_violations(source: str, path: str) -> list[Violation]:
    """Rule 2 for one module."""
    tree = ast.parse(source)
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    found: list[Violation] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            problem = _key_literal(node.value, path)
            if problem:
                found.append(Violation(path, line, problem))
        elif isinstance(node, ast.Call) and _called(node) in PATH_SPLITS:
            if _literal_arg(node, 0) == "/":
                found.append(Violation(path, line, "splits a string on '/'"))
        elif isinstance(node, ast.Attribute) and node.attr in LAYOUT_KEY_PARTS:
            if _names_layout(node.value):
                found.append(Violation(path, line, f"uses layout.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "layout":
            for alias in node.names:
                if alias.name in LAYOUT_KEY_PARTS:
                    found.append(Violation(path, line, f"imports layout.{alias.name}"))
    return found


def _imported_modules(node: ast.AST, package: str) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        module = _resolve(node, package)
        yield module
        yield from (f"{module}.{alias.name}" for alias in node.names)
    elif isinstance(node, ast.Call) and _called(node) in ("import_module", "__import__"):
        name = _literal_arg(node, 0)
        if name is not None:
            yield name


def _resolve(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _is_database_module(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in DATABASE_MODULES)


def _names_engine(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "_engine"
    if isinstance(node, ast.Call) and _called(node) in ("getattr", "setattr", "hasattr"):
        return _literal_arg(node, 1) == "_engine"
    return False


def _called(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _literal_arg(call: ast.Call, index: int) -> str | None:
    if len(call.args) <= index:
        return None
    arg = call.args[index]
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def _key_literal(text: str, path: str) -> str | None:
    if text.startswith(KEY_PREFIXES):
        return f"blob key literal {text!r}"
    for name in KEY_FILE_NAMES:
        if text.endswith("/" + name):
            return f"blob key literal {text!r}"
        if text == name and (path, name) not in ALLOWED_FILE_NAMES:
            return f"blob key file name {text!r}"
    return None


def _names_layout(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "layout") or (
        isinstance(node, ast.Attribute) and node.attr == "layout"
    )


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def package_of(path: Path) -> str:
    """The package a module's relative imports resolve against: its directory."""
    return ".".join(path.relative_to(SRC.parent).parent.parts)


# -- the rules on the tree ---------------------------------------------------------------------


def test_only_the_store_touches_the_database() -> None:
    outside = [p for p in modules() if not p.is_relative_to(STORE)]
    assert len(outside) > 50
    found = [
        v for p in outside for v in database_violations(p.read_text(), relative(p), package_of(p))
    ]
    assert not found, "\n".join(map(str, found))


ENTRY_POINTS = ("reelforge.api", "reelforge.cli")
"""The HTTP API and the command line sit on top: nothing below them may import either."""


def entry_point_violations(source: str, path: str, package: str) -> list[Violation]:
    found = []
    for node in ast.walk(ast.parse(source)):
        for module in _imported_modules(node, package):
            if any(module == top or module.startswith(top + ".") for top in ENTRY_POINTS):
                found.append(Violation(path, getattr(node, "lineno", 0), f"imports {module}"))
    return found


def test_nothing_below_the_entry_points_imports_them() -> None:
    below = [p for p in modules() if p.relative_to(SRC).parts[0] not in ("api", "cli")]
    assert len(below) > 50
    found = [
        v for p in below for v in entry_point_violations(p.read_text(), relative(p), package_of(p))
    ]
    assert not found, "\n".join(map(str, found))
    assert entry_point_violations("from reelforge.api.errors import ApiError\n", "x.py", "x")


def test_only_the_layout_builds_blob_keys() -> None:
    others = [p for p in modules() if p != LAYOUT]
    found = [v for p in others for v in blob_key_violations(p.read_text(), relative(p))]
    assert not found, "\n".join(map(str, found))


def test_every_allowed_file_name_is_still_used() -> None:
    for (path, name), reason in ALLOWED_FILE_NAMES.items():
        tree = ast.parse((SRC / path).read_text())
        literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
        assert name in literals, f"stale allowance ({reason}): {name!r} in {path}"


def test_the_layout_itself_is_what_the_key_rule_would_catch() -> None:
    rules = {v.rule for v in blob_key_violations(LAYOUT.read_text(), "storage/layout.py")}
    assert "splits a string on '/'" in rules
    assert "blob key file name 'video.mp4'" in rules


# -- the checkers catch violations -------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("import sqlalchemy as sa", "imports sqlalchemy"),
        ("import sqlalchemy.orm", "imports sqlalchemy.orm"),
        ("from sqlalchemy.exc import IntegrityError", "imports sqlalchemy.exc"),
        ("from reelforge.store import tables", "imports reelforge.store.tables"),
        ("from reelforge.store.db import WRITE", "imports reelforge.store.db"),
        ("from ..store import api_tables", "imports reelforge.store.api_tables"),
        ("importlib.import_module('sqlalchemy')", "imports sqlalchemy"),
        ("engine = runtime.database._engine", "accesses _engine"),
        ("engine = getattr(runtime.database, '_engine')", "accesses _engine"),
    ],
)
def test_database_rule_catches(source: str, rule: str) -> None:
    found = database_violations(f"x = 1\n{source}\n", "services/bad.py", "reelforge.services")
    assert Violation("services/bad.py", 2, rule) in found


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ('key = f"jobs/{job_id}/{token}/video.mp4"', "blob key literal 'jobs/'"),
        ('key = "inputs/" + job_id', "blob key literal 'inputs/'"),
        ('key = prefix + "/thumbnail.webp"', "blob key literal '/thumbnail.webp'"),
        ('key = f"{prefix}/spritesheet.jpg"', "blob key literal '/spritesheet.jpg'"),
        ('key = "/".join([prefix, "first_frame.png"])', "blob key file name 'first_frame.png'"),
        ('job_id = key.split("/")[1]', "splits a string on '/'"),
        ('head, _, rest = key.partition("/")', "splits a string on '/'"),
        ("name = layout.VIDEO", "uses layout.VIDEO"),
        ("from reelforge.storage.layout import JOBS", "imports layout.JOBS"),
    ],
)
def test_blob_key_rule_catches(source: str, rule: str) -> None:
    found = blob_key_violations(f"x = 1\n{source}\n", "services/bad.py")
    assert Violation("services/bad.py", 2, rule) in found


def test_blob_key_rule_ignores_docs_layout_calls_and_allowed_names() -> None:
    source = (
        '"""Outputs live at jobs/<id>/<token>/video.mp4."""\n'
        "key = layout.first_frame_key(job_id)\n"
        'headers = {"filename": "video.mp4"}\n'
        'host = url.split(":")[0]\n'
    )
    assert blob_key_violations(source, "api/openai_routes.py") == []
    assert blob_key_violations(source, "api/other.py") == [
        Violation("api/other.py", 3, "blob key file name 'video.mp4'")
    ]


# -- the runtime -------------------------------------------------------------------------------


def test_runtime_exposes_no_sqlalchemy_engine(tmp_path: Path) -> None:
    runtime = Runtime.open(Settings(data_dir=tmp_path / "data"))
    try:
        assert any(isinstance(v, sa.Engine) for v in vars(runtime.database).values())
        public = {name: getattr(runtime, name) for name in dir(runtime) if not name.startswith("_")}
        for name, value in {**vars(runtime), **public}.items():
            assert not isinstance(value, sa.Engine), f"Runtime.{name} is an Engine"
            if name == "database" or type(value).__module__.startswith("reelforge.store"):
                continue  # the store owns the engine
            for inner, held in getattr(value, "__dict__", {}).items():
                assert not isinstance(held, sa.Engine), f"Runtime.{name}.{inner} is an Engine"
    finally:
        runtime.close()
