"""Which package files a rule's script runs (for Snakemake's rerun decisions).

Snakemake tracks a rule's script file itself, not what the script imports. Every rule
therefore gets the package files its script imports, transitively, as inputs (the
Snakefile adds them to every rule with a ``script:``), so an edit of the logic reruns
exactly the steps whose code ran it. The closure is read from the source (``ast``), not
listed by hand, so it cannot drift from the code.

What decides a rerun is each file's *normalised* source (:func:`normalised_digest`): the
syntax tree without comments, docstrings, line numbers or layout. An edit of a comment or a
docstring changes no result and reruns nothing; any other edit reruns the steps whose
scripts import the file.

Resolution follows Python's import system for one package tree: ``import pkg.a.b``,
``from pkg.a import b`` (``b`` a submodule or a name), ``from .a import b``, ``from ..a
import b`` and ``from . import b``; importing ``pkg.a.b`` also runs ``pkg/__init__.py``
and ``pkg/a/__init__.py``, so those are part of the closure too. Imports of other
packages are not followed.
"""

from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path

PACKAGE = "rlvr_boundary"


def module_file(source_root: Path, dotted: str) -> Path | None:
    """The file of module ``dotted`` under ``source_root`` (a module or a package's
    ``__init__.py``), or None when there is none."""
    base = source_root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=None)
def _imported_names(source: str, filename: str, importer: str, is_package: bool) -> frozenset:
    """Dotted names ``source`` may import: each ``import x`` / ``from x import y`` as
    ``x`` and ``x.y`` (``y`` may be a submodule), relative ones made absolute. Cached per
    source text: every rule of a run walks the same few modules."""
    # A module's own package, for relative imports: itself when it is a package.
    package = importer if is_package else importer.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".") if package else []
                if node.level > len(anchor):
                    raise ImportError(f"{filename}:{node.lineno}: relative import beyond "
                                      f"the top-level package")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                module = ".".join(anchor + ([node.module] if node.module else []))
            else:
                module = node.module
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names if alias.name != "*")
    return frozenset(names)


def _with_parents(dotted: str) -> list[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``: importing a module runs its packages first."""
    parts = dotted.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def import_closure(source_root: str | Path, script: str | Path,
                   package: str = PACKAGE) -> list[Path]:
    """Every file of ``package`` (under ``source_root``) that running ``script`` imports,
    transitively, sorted. ``script`` itself is not included."""
    source_root = Path(source_root)
    script = Path(script)
    seen: dict[Path, None] = {}
    todo = [(script, "__main__", False)]
    while todo:
        path, name, is_package = todo.pop()
        for dotted in _imported_names(path.read_text(), str(path), name, is_package):
            if dotted.split(".")[0] != package:
                continue
            for module in _with_parents(dotted):
                found = module_file(source_root, module)
                if found is None or found in seen:
                    continue  # a name imported from a module, not a module of its own
                seen[found] = None
                todo.append((found, module, found.name == "__init__.py"))
    return sorted(seen)


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
    return tree


@lru_cache(maxsize=None)
def _digest_of(source: str, filename: str) -> str:
    tree = _without_docstrings(ast.parse(source, filename=filename))
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


def normalised_digest(path: str | Path) -> str:
    """sha256 of a module's syntax tree without docstrings (comments, line numbers and
    layout are not in the tree): equal for two sources that run the same code."""
    path = Path(path)
    return _digest_of(path.read_text(), str(path))
