"""Splits are seeded and disjoint; config checks name the bad key."""

from __future__ import annotations

import copy
import os

import pytest
import yaml

from rlvr_boundary.workflow.codedeps import import_closure, normalised_digest
from rlvr_boundary.workflow.config_checks import ConfigError, check_config, completion_tokens, prompt_tokens
from rlvr_boundary.world.data import make_splits
from rlvr_boundary.stats.seeds import derive_seed
from rlvr_boundary.world.task import Problem
from workflow_runner import REPO

BENCHMARKS = {"easy": {"depths": [2], "problems": 50}, "hard": {"depths": [5], "problems": 50}}


def _splits(seed=0):
    return make_splits(seed, BENCHMARKS, {"depths": [2, 3], "problems": 300},
                       {"depths": [1, 2, 3, 4, 5], "problems": 3000})


def test_splits_are_disjoint_and_seeded():
    splits = _splits()
    prompts = [set(frame.prompt) for frame in splits.values()]
    assert sum(map(len, prompts)) == len(set().union(*prompts))
    assert splits["benchmark_hard"].depth.eq(5).all()
    again = _splits()
    for name, frame in splits.items():
        assert frame.equals(again[name])
    assert not _splits(seed=1)["benchmark_easy"].equals(splits["benchmark_easy"])


def test_impossible_split_sizes_are_refused():
    with pytest.raises(ValueError, match="data.rl_prompts"):
        make_splits(0, {}, {"depths": [1], "problems": 301}, {"depths": [2], "problems": 1})


def test_token_budget_formulas_match_the_text():
    problem = Problem(1, (("+", 2),) * 5)
    assert prompt_tokens(5) == len(problem.prompt) + 1  # + bos
    assert completion_tokens(5) == len(problem.completion()) + 1  # + eos


def _default_config():
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    validate(config, str(REPO / "schemas/config.schema.yaml"))
    return config


def test_default_config_passes_checks():
    check_config(_default_config())


@pytest.mark.parametrize("edit, key", [
    (lambda c: c["analysis"].update(ks=[512]), "analysis.ks"),
    (lambda c: c["families"]["deep"]["architecture"].update(num_attention_heads=4), "families.deep"),
    (lambda c: c["rl"]["regimes"]["broad"].update(prompts=10**6), "rl.regimes.broad.prompts"),
    (lambda c: c["sampling"].update(max_new_tokens=60), "sampling.max_new_tokens"),
    (lambda c: c["analysis"].update(claim_metric="answer", metrics=["trace"]), "analysis.claim_metric"),
    (lambda c: c["rl"].update(algorithm="ppo2"), "rl.algorithm"),
    (lambda c: c["rl"]["algorithms"].update(seed2={"trainer": "grpo"}), "rl.algorithms.seed2"),
    (lambda c: c["rl"]["algorithms"]["ppo"].update(gae_lamda=0.9), "rl.algorithms.ppo"),
    (lambda c: c["studies"]["algorithms"].update(family="nope"), "studies.algorithms.family"),
    (lambda c: c["studies"]["algorithms"]["algorithms"].append("sac"), "studies.algorithms.algorithms"),
    (lambda c: c["studies"]["seeds"].update(regime="nope"), "studies.seeds.regime"),
    (lambda c: c["studies"]["temperatures"].update(benchmarks=["gsm8k"]), "studies.temperatures.benchmarks"),
    (lambda c: c["rl"].update(checkpoint_fractions=[]), "studies.training_length"),
])
def test_config_checks_name_the_key(edit, key):
    config = copy.deepcopy(_default_config())
    edit(config)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        check_config(config)


def test_derived_seeds_are_stable_and_distinct():
    assert derive_seed(0, "sample", "a") == derive_seed(0, "sample", "a")
    assert derive_seed(0, "sample", "a") != derive_seed(0, "sample", "b")
    assert derive_seed(0, "x") != derive_seed(1, "x")


def _write_package(root, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _closure(root, script="script.py", package="pkg") -> list[str]:
    return [p.relative_to(root).as_posix() for p in import_closure(root, root / script, package)]


def test_code_dependencies_are_transitive_on_the_real_package():
    closure = _closure(REPO / "src", "../scripts/estimate_passk.py", "rlvr_boundary")
    assert {"rlvr_boundary/__init__.py", "rlvr_boundary/stats/passk_table.py", "rlvr_boundary/report/claims.py",
            "rlvr_boundary/stats/passk.py", "rlvr_boundary/workflow/job_io.py"} <= set(closure)
    assert "rlvr_boundary/models/modeling.py" not in closure


def test_code_dependencies_follow_subpackages_and_relative_imports(tmp_path):
    _write_package(tmp_path, {
        "script.py": "import os\nfrom pkg.stats.passk import estimate\nimport pkg.report\n",
        "pkg/__init__.py": "",
        "pkg/stats/__init__.py": "",
        # a sibling module, a parent's module, a module named in `from . import`
        "pkg/stats/passk.py": "from .bootstrap import draw\nfrom ..io import write\nfrom . import ci\n",
        "pkg/stats/bootstrap.py": "import numpy\n",
        "pkg/stats/ci.py": "x = 1\n",
        "pkg/io.py": "from pkg.stats import bootstrap\n",
        "pkg/report/__init__.py": "from .tables import table\n",
        "pkg/report/tables.py": "def table(): pass\n",
        "pkg/unused.py": "",
        "other/__init__.py": "",
    })
    assert _closure(tmp_path) == [
        "pkg/__init__.py", "pkg/io.py", "pkg/report/__init__.py", "pkg/report/tables.py",
        "pkg/stats/__init__.py", "pkg/stats/bootstrap.py", "pkg/stats/ci.py", "pkg/stats/passk.py"]


def test_code_dependencies_take_names_for_what_they_are(tmp_path):
    # `from pkg.a import b`: b a submodule is followed, b a function is not a file.
    _write_package(tmp_path, {
        "script.py": "from pkg.a import b, helper\n",
        "pkg/__init__.py": "", "pkg/a/__init__.py": "def helper(): pass\n", "pkg/a/b.py": "",
        "pkg/a/helper2.py": "",
    })
    assert _closure(tmp_path) == ["pkg/__init__.py", "pkg/a/__init__.py", "pkg/a/b.py"]


def test_a_relative_import_beyond_the_package_is_an_error(tmp_path):
    _write_package(tmp_path, {"script.py": "import pkg.a\n", "pkg/__init__.py": "",
                              "pkg/a.py": "from ... import x\n"})
    with pytest.raises(ImportError, match="beyond the top-level package"):
        _closure(tmp_path)


def test_code_dependencies_follow_an_edit_in_the_same_process(tmp_path):
    # Parses are cached per source text (every rule walks the same modules); an edited
    # module is parsed again, even one of the same size and mtime.
    _write_package(tmp_path, {"script.py": "import pkg.a\n", "pkg/__init__.py": "",
                              "pkg/a.py": "from .b import x\n", "pkg/b.py": "x = 1\n",
                              "pkg/c.py": "y = 2\n"})
    assert _closure(tmp_path) == ["pkg/__init__.py", "pkg/a.py", "pkg/b.py"]
    assert _closure(tmp_path) == ["pkg/__init__.py", "pkg/a.py", "pkg/b.py"]
    mtime = (tmp_path / "pkg/a.py").stat().st_mtime_ns
    (tmp_path / "pkg/a.py").write_text("from .c import y\n")
    os.utime(tmp_path / "pkg/a.py", ns=(mtime, mtime))
    assert _closure(tmp_path) == ["pkg/__init__.py", "pkg/a.py", "pkg/c.py"]


def test_normalised_digest_ignores_prose_and_layout_not_code(tmp_path):
    original = '"""Module docs."""\nimport os\n\n\ndef f(x):\n    """Docs."""\n    return x + 1\n'
    same_code = [
        '"""Other docs."""\nimport os  # why\n\ndef f(x):\n    return x + 1\n',
        'import os\ndef f( x ):\n    """Changed."""\n    # a comment\n    return (x + 1)\n',
    ]
    other_code = [
        original.replace("x + 1", "x + 2"),
        original.replace("import os", "import sys"),
        original + 'LABEL = "a string that is not a docstring"\n',
        original.replace('    """Docs."""\n', '    print("Docs.")\n'),
    ]

    def digest(text, name):
        path = tmp_path / name
        path.write_text(text)
        return normalised_digest(path)

    reference = digest(original, "a.py")
    assert all(digest(text, f"same{i}.py") == reference for i, text in enumerate(same_code))
    assert all(digest(text, f"other{i}.py") != reference for i, text in enumerate(other_code))
