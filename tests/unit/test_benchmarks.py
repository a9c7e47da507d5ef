"""Benchmark loaders: every shipped file normalised, gold answers extracted, pins enforced."""

import json
from pathlib import Path

import pytest

from rlvr_boundary.sampling.benchmarks import (
    BENCHMARK_COLUMNS,
    BenchmarkChanged,
    FORMATS,
    after_hash,
    apply_template,
    last_boxed,
    load_benchmark,
    load_hub,
    read_normalised,
    write_normalised,
)
from rlvr_boundary.analyses.real_counts import REAL_DEFAULTS
from rlvr_boundary.workflow.paper_plan import load_study_config

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REAL_DEFAULTS["benchmarks"]
ROWS = {"math500": 500, "gsm8k": 1319, "minerva_math": 272, "aime24": 30}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_each_shipped_file(name, tmp_path):
    table, manifest = load_benchmark(name, SHIPPED[name], root=REPO)
    assert list(table.columns) == BENCHMARK_COLUMNS
    assert len(table) == ROWS[name] == manifest["rows"]
    assert table.problem_id.is_unique
    assert table.question.str.strip().str.len().gt(0).all()
    assert table.reference_answer.str.strip().str.len().gt(0).all()
    assert manifest["source_sha256"] == SHIPPED[name]["sha256"]
    first, second = (write_normalised(table, manifest, tmp_path / folder / "problems.jsonl",
                                      tmp_path / folder / "manifest.json") for folder in "ab")
    assert first["normalised_sha256"] == second["normalised_sha256"]  # byte-stable
    back = read_normalised(tmp_path / "a" / "problems.jsonl")
    assert back.equals(table)


def test_a_catalog_file_found_from_another_working_directory_reads_the_same(tmp_path,
                                                                           monkeypatch):
    """`--directory` elsewhere: the rule hands the file it found, the spec keeps its
    catalog-relative name (so the manifest does not depend on where the run is)."""
    here, _ = load_benchmark("aime24", SHIPPED["aime24"], root=REPO)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_benchmark("aime24", SHIPPED["aime24"])
    there, manifest = load_benchmark("aime24", SHIPPED["aime24"],
                                     file=REPO / SHIPPED["aime24"]["file"])
    assert there.equals(here) and manifest["origin"].startswith("file sha256:")


def test_gold_answers_where_they_hide():
    raw = [json.loads(line) for line in (REPO / SHIPPED["gsm8k"]["file"]).read_text().splitlines()]
    table, _ = load_benchmark("gsm8k", SHIPPED["gsm8k"], root=REPO)
    assert table.reference_answer.iloc[0] == "18"  # "... #### 18"
    assert not table.reference_answer.str.contains(",").any()  # "#### 2,125" -> "2125"
    assert any("," in r["answer"].rsplit("####", 1)[1] for r in raw)
    minerva, _ = load_benchmark("minerva_math", SHIPPED["minerva_math"], root=REPO)
    assert minerva.reference_answer.iloc[0] == "1.6"  # s = ... = \boxed{1.6} \mathrm{~cm}
    assert not minerva.reference_answer.str.contains(r"\\boxed").any()
    math500, _ = load_benchmark("math500", SHIPPED["math500"], root=REPO)
    assert math500.problem_id.iloc[0] == "test/precalculus/807.json"
    aime, _ = load_benchmark("aime24", SHIPPED["aime24"], root=REPO)
    assert aime.problem_id.iloc[0] == "aime24/60" and aime.reference_answer.iloc[0] == "204"


@pytest.mark.parametrize("text, expected", [
    (r"so $\boxed{\frac{1}{2}}$ cm", r"\frac{1}{2}"),
    (r"\boxed{1} then \boxed{2}", "2"),
    (r"\boxed{\left( 3, \frac{\pi}{2} \right)}", r"\left( 3, \frac{\pi}{2} \right)"),
    (r"\fbox{x^{2}}", "x^{2}"),
    (r"$\boxed 5$", "5"),
    (r"\boxed {7}", "7"),
    ("no box here", None),
    (r"\boxed{never closed", None),
])
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


def test_after_hash():
    assert after_hash("a\n#### 1,000") == "1000"
    assert after_hash("no marker") is None


def test_changed_upstream_file_is_refused(tmp_path):
    changed = tmp_path / "test.jsonl"
    text = (REPO / SHIPPED["aime24"]["file"]).read_text()
    changed.write_text(text.replace('"answer":"204"', '"answer":"205"'))
    assert changed.read_text() != text
    with pytest.raises(BenchmarkChanged, match="changed upstream"):
        load_benchmark("aime24", {**SHIPPED["aime24"], "file": str(changed)})
    with pytest.raises(BenchmarkChanged, match="no sha256 pinned"):
        load_benchmark("aime24", {"file": str(changed)})


def test_missing_answer_and_wrong_row_count(tmp_path):
    path = tmp_path / "test.jsonl"
    path.write_text('{"question": "q?", "answer": "no marker"}\n')
    from rlvr_boundary.sampling.benchmarks import load_local
    _, digest = load_local(path)
    with pytest.raises(ValueError, match="no gold answer"):
        load_benchmark("gsm8k", {"file": str(path), "sha256": digest})
    path.write_text('{"question": "q?", "answer": "#### 3", "idx": 0}\n')
    _, digest = load_local(path)
    with pytest.raises(ValueError, match="expects 2"):
        load_benchmark("gsm8k", {"file": str(path), "sha256": digest, "expected_rows": 2})


@pytest.fixture
def hub_layout_dataset(tmp_path, monkeypatch):
    """A small dataset in Hub layout (data/<split>.jsonl), loaded through `datasets`."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    folder = tmp_path / "gsm8k_hub"
    (folder / "data").mkdir(parents=True)
    rows = [{"question": "What is 1+1?", "answer": "1+1=2\n#### 2"},
            {"question": "What is 2,000+1?", "answer": "#### 2,001"}]
    (folder / "data" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_hub_code_path(hub_layout_dataset):
    revision = "0" * 40
    records, digest = load_hub(str(hub_layout_dataset), revision, "test")
    assert len(records) == 2
    spec = {"hub": {"repo": str(hub_layout_dataset), "revision": revision, "split": "test"},
            "format": "hub_gsm8k", "sha256": digest}
    table, manifest = load_benchmark("gsm8k_hub", spec)
    assert table.reference_answer.tolist() == ["2", "2001"]
    assert table.problem_id.tolist() == ["gsm8k_hub/0", "gsm8k_hub/1"]
    assert manifest["origin"] == f"hub {hub_layout_dataset}@{revision}"
    with pytest.raises(BenchmarkChanged):
        load_benchmark("gsm8k_hub", {**spec, "sha256": "f" * 64})
    with pytest.raises(ValueError, match="pinned revision"):
        load_hub(str(hub_layout_dataset), "main", "test")


def test_formats_and_template():
    assert set(ROWS) <= set(FORMATS)
    prompt = apply_template("Question: {question}\nAnswer: \\boxed{}", r"Find $\frac{1}{2}$.")
    assert prompt == "Question: Find $\\frac{1}{2}$.\nAnswer: \\boxed{}"
    with pytest.raises(ValueError):
        apply_template("no slot", "q")


def test_paper_config_templates_resolve():
    """Every (model, benchmark) of configs/paper.yaml has a template with a {question} slot,
    shipped benchmarks match their pins, and pinned revisions are full commit hashes."""
    import re


    paper = load_study_config(REPO / "configs/paper.yaml", REPO / "configs/catalog.yaml")
    templates = paper["prompt_templates"]
    for model, spec in paper["models"].items():
        assert spec["revision"] is None or re.fullmatch(r"[0-9a-f]{40}", spec["revision"]), model
        for benchmark in paper["benchmarks"]:
            name = spec["templates"].get(benchmark, spec["templates"]["default"])
            prompt = apply_template(templates[name], "What is $\\frac{1}{2}+\\frac{1}{2}$?")
            assert "\\frac{1}{2}+" in prompt and "{question}" not in prompt
    for name, spec in paper["benchmarks"].items():
        if name in SHIPPED:
            assert spec["sha256"] == SHIPPED[name]["sha256"] and spec["n"] in (128, 1024)


def test_every_local_benchmark_of_the_paper_config_loads_at_its_pin():

    paper = load_study_config(REPO / "configs/paper.yaml", REPO / "configs/catalog.yaml")
    local = {name: spec for name, spec in paper["benchmarks"].items() if "file" in spec}
    assert {"amc23", "aime25"} <= set(local)
    for name, spec in local.items():
        table, manifest = load_benchmark(name, spec, REPO)
        assert len(table) == spec["expected_rows"] == manifest["rows"], name
        assert table.reference_answer.str.len().gt(0).all(), name
