"""Which package modules a step's code depends on (for Snakemake's rerun decisions)."""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

PACKAGE = "rlvr_boundary"


def _package_imports(path: Path) -> frozenset[str]:
    """The package modules ``path`` imports. Parsed once per process and source text:
    every rule's ``code(...)`` walks the same few modules."""
    return _imports_in(path.read_text(), str(path))


@lru_cache(maxsize=None)
def _imports_in(source: str, filename: str) -> frozenset[str]:
    tree = ast.parse(source, filename=filename)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from .module import x / from . import module
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith(PACKAGE + "."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith(PACKAGE + "."))
    return frozenset(found)


def module_closure(package_dir: str | Path, modules) -> list[str]:
    """``modules`` and every package module they import, transitively, sorted."""
    package_dir = Path(package_dir)
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        path = package_dir / f"{module}.py"
        if not path.exists():
            raise FileNotFoundError(f"no module {module!r} in {package_dir}")
        seen.add(module)
        todo.extend(_package_imports(path) - seen)
    return sorted(seen)
