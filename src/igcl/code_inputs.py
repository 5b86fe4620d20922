"""The source files a stage runs: the static import closure of its CLI module, for the rules' ``code`` inputs.

A rule lists these files as inputs, so editing any module a stage imports (directly or through others, at module
level or inside a function) reruns that stage and nothing else: ``data/imageshards/reader.py`` reruns pretrain and
evaluate, ``summary/tables.py`` only the report. The walk is static (:mod:`ast`, nothing is imported), so the workflow can
run it when it builds the DAG without loading torch. It follows every ``import igcl...`` / ``from igcl... import``
and relative import in the package, adds each package's ``__init__.py`` on the way (Python runs them), and skips
imports under ``if TYPE_CHECKING:`` (they never run). A string literal that is exactly a package module's dotted
name counts as an import too: that is how modules reach worker processes (multiprocessing preload lists) and
``importlib.import_module``. (``igcl.cli.main`` names every stage that way, so the rules add its file without
walking it.) A package that exports names lazily (a module-level ``_EXPORTS = {"name": "igcl.module"}`` dict
read by ``__getattr__``) runs those modules only when the names are taken, so its ``_EXPORTS`` strings are not
imports of the package; ``from package import name`` is an import of ``_EXPORTS[name]``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

PACKAGE = "igcl"
LAZY_EXPORTS = "_EXPORTS"
MODULE_NAME = re.compile(rf"{PACKAGE}(\.[A-Za-z_]\w*)+")


def module_file(module: str, src_root: Path) -> Path | None:
    """The file of ``module`` (``a.b`` -> ``a/b.py`` or ``a/b/__init__.py``) under ``src_root``, or None."""
    base = src_root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, at any depth, except those guarded by ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _import_nodes(ast.Module(body=[other], type_ignores=[]))
        else:
            yield from _import_nodes(child)


def _with_parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _lazy_exports_node(tree: ast.Module) -> ast.Dict | None:
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Dict):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == LAZY_EXPORTS for t in targets):
                return node.value
    return None


def lazy_exports(package: str, src_root: Path) -> dict[str, str]:
    """A package's ``_EXPORTS`` (exported name -> defining module), or {} when it has none."""
    path = module_file(package, src_root)
    if path is None or path.name != "__init__.py":
        return {}
    node = _lazy_exports_node(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    if node is None:
        return {}
    return {k.value: v.value for k, v in zip(node.keys, node.values)
            if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)}


def imported_modules(module: str, path: Path, src_root: Path) -> set[str]:
    """The package modules that the file ``path`` of ``module`` imports (names, parents included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from a import b`: b is a submodule or a name defined in a (maybe lazily, in another module)
            exports = lazy_exports(base, src_root)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]
            targets += [exports[alias.name] for alias in node.names if alias.name in exports]
            if any(alias.name == "*" for alias in node.names):
                targets += list(exports.values())
        for target in targets:
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                found.update(name for name in _with_parents(target) if module_file(name, src_root) is not None)
    lazy = _lazy_exports_node(tree) if is_package else None
    skipped = {id(n) for n in ast.walk(lazy)} if lazy is not None else set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_NAME.fullmatch(node.value) \
                and module_file(node.value, src_root) is not None:
            found.update(name for name in _with_parents(node.value) if module_file(name, src_root) is not None)
    return found


def import_closure(modules: Iterable[str], src_root: str | Path) -> list[Path]:
    """Every package file that importing ``modules`` can run, sorted: their files, what those import, and so on.

    ``src_root`` is the folder holding the ``igcl`` package (``src/``). Raises ValueError for a start module
    that has no file there.
    """
    src_root = Path(src_root)
    pending = []
    for name in modules:
        if module_file(name, src_root) is None:
            raise ValueError(f"{name}: no such module under {src_root}")
        pending += _with_parents(name)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(name, src_root)
        if path is not None:
            pending += sorted(imported_modules(name, path, src_root) - seen)
    return sorted(path for name in seen if (path := module_file(name, src_root)) is not None)
