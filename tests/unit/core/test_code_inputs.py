"""The static import walk behind the rules' code inputs: a hand-made package, then the real stages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from igcl.code_inputs import import_closure

SRC = Path(__file__).resolve().parents[3] / "src"
STAGES = ("phantom", "ingest", "parse", "images", "pretrain", "evaluate", "report")


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def package(tmp_path) -> Path:
    return _package(tmp_path, {
        "igcl/__init__.py": "",
        "igcl/entry.py": (
            "from __future__ import annotations\n"
            "from typing import TYPE_CHECKING\n"
            "import json\n"
            "from igcl.sub import leaf\n"          # a submodule by from-import: sub/__init__ and sub/leaf
            "from . import sibling\n"             # relative, level 1
            "if TYPE_CHECKING:\n"
            "    from igcl import typing_only\n"  # never runs: not a dependency
            "else:\n"
            "    import igcl.runtime_branch\n"    # the else branch does run
            "def later():\n"
            "    import igcl.lazy\n"              # a function-level import still runs
            "PRELOAD = ('igcl.named',)\n"         # a module named as a string (worker preload lists)
        ),
        "igcl/sub/__init__.py": "",
        "igcl/sub/leaf.py": "from ..deep.inner import VALUE\n",  # relative, level 2
        "igcl/deep/__init__.py": "",
        "igcl/deep/inner.py": "VALUE = 1\n",
        "igcl/sibling.py": "",
        "igcl/typing_only.py": "",
        "igcl/runtime_branch.py": "",
        "igcl/lazy.py": "",
        "igcl/named.py": "",
        "igcl/unused.py": "import igcl.entry\n",
    })


def test_closure_follows_every_kind_of_import(package):
    files = {p.relative_to(package / "igcl").as_posix() for p in import_closure(["igcl.entry"], package)}
    assert files == {"__init__.py", "entry.py", "sub/__init__.py", "sub/leaf.py", "deep/__init__.py",
                     "deep/inner.py", "sibling.py", "runtime_branch.py", "lazy.py", "named.py"}


def test_lazy_exports_are_imports_only_of_the_names_taken(tmp_path):
    root = _package(tmp_path, {
        "igcl/__init__.py": "",
        "igcl/pkg/__init__.py": ("_EXPORTS = {'Light': 'igcl.pkg.light', 'Heavy': 'igcl.pkg.heavy'}\n"
                                 "def __getattr__(name):\n    ...\n"),
        "igcl/pkg/light.py": "",
        "igcl/pkg/heavy.py": "",
        "igcl/pkg/config.py": "",
        "igcl/uses_light.py": "from igcl.pkg import Light\n",
        "igcl/uses_config.py": "import igcl.pkg.config\n",
    })
    def names(module):
        return {p.relative_to(root / "igcl").as_posix() for p in import_closure([module], root)}
    assert names("igcl.uses_light") == {"__init__.py", "uses_light.py", "pkg/__init__.py", "pkg/light.py"}
    assert names("igcl.uses_config") == {"__init__.py", "uses_config.py", "pkg/__init__.py", "pkg/config.py"}


def test_closure_of_an_unknown_module_is_an_error(package):
    with pytest.raises(ValueError, match="igcl.nowhere: no such module"):
        import_closure(["igcl.nowhere"], package)


def _closure(stage: str) -> set[str]:
    return {p.relative_to(SRC / "igcl").as_posix() for p in import_closure([f"igcl.cli.{stage}"], SRC)}


def test_stage_closures_hold_what_each_stage_runs_and_nothing_of_the_others():
    pretrain, evaluate, report, parse = (_closure(s) for s in ("pretrain", "evaluate", "report", "parse"))
    # the normalisation both pretrain and evaluate apply (the audit's stale-result case)
    assert "data/imageshards/reader.py" in pretrain and "data/imageshards/reader.py" in evaluate
    # report-only code is the report's alone
    assert {"summary/tables.py", "summary/plots.py"} <= report
    assert not {"summary/tables.py", "summary/plots.py"} & (evaluate | pretrain)
    # convirt trains on the extracted sections, so the sections code is pretraining code too
    assert "reports/sections.py" in pretrain and "reports/sections.py" in parse
    # the parse workers' preload (named only as a string) is parse code
    assert "reports/worker_env.py" in parse
    assert not any(p.startswith(("train/", "models/")) for p in parse | _closure("images") | _closure("ingest"))
    # training reads the image shards' index contract, not the images stage's decoder and writer
    assert "data/imageshards/index.py" in pretrain and not {"data/imageshards/build.py",
                                                             "data/imageshards/decode.py"} & (pretrain | evaluate)


@pytest.mark.parametrize("stage", STAGES)
def test_what_a_stage_imports_is_in_its_closure(stage):
    """Importing the stage's CLI module (module-level imports, in a fresh interpreter) loads only listed files."""
    code = ("import sys, igcl.cli.{0}; print('\\n'.join(sorted(m.__file__ for n, m in sys.modules.items() "
            "if n.split('.')[0] == 'igcl' and getattr(m, '__file__', None))))").format(stage)
    loaded = subprocess.run([sys.executable, "-c", code], cwd=SRC, capture_output=True, text=True, check=True)
    closure = {str(p.resolve()) for p in import_closure([f"igcl.cli.{stage}"], SRC)}
    assert set(map(str, map(lambda f: Path(f).resolve(), loaded.stdout.split()))) <= closure
