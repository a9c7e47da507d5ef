"""C5's optional language-model judge (rlvr_boundary.analyses.cot_judge, run by
rlvr_boundary.sampling.judge): the verdict it must end with, its prompt, its agreement with
people, C5 from its labels, the config check, the judge run end to end on a tiny local
checkpoint (hf backend), and the jobs a dry run of a paper-like config with
`analysis.cot_judge` plans."""

from __future__ import annotations

import copy
import io
import json
import math
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from snakemake.utils import validate

from rlvr_boundary.analyses.cot_annotation import (
    ANNOTATION_COLUMNS,
    NO_CORRECT_SAMPLE,
    c5_from_annotations,
    read_annotations,
)
from rlvr_boundary.analyses.cot_judge import (
    C5_JUDGED_COLUMNS,
    DEFAULT_INSTRUCTION,
    JUDGED_COLUMNS,
    LABELS,
    c5_with_judge,
    cohen_kappa,
    fill_instruction,
    judge_report_section,
    judge_summary,
    judge_template,
    parse_verdict,
    read_judged,
)
from rlvr_boundary.report.boundary_claims import c5_rows
from rlvr_boundary.sampling.judge import judge_annotations
from rlvr_boundary.workflow.config_checks import ConfigError, check_paper_config
from rlvr_boundary.workflow.job_io import write_csv
from rlvr_boundary.workflow.paper_plan import load_study_config
from workflow_runner import REPO, run_snakemake

PAPER = load_study_config(REPO / "configs/paper.yaml", REPO / "configs/catalog.yaml")


# --- the verdict ---------------------------------------------------------------------------

@pytest.mark.parametrize("reply, label", [
    ("Every step checks out.\nVERDICT: valid", "valid"),
    ("Step 3 divides by zero.\nVERDICT: invalid", "invalid"),
    ("verdict: Valid", "valid"),
    ("VERDICT: INVALID.", "invalid"),
    ("**VERDICT:** *valid*", "valid"),
    ("Final verdict: invalid", "invalid"),
    ("The chain is fine.", "unparsable"),  # no verdict line
    ("", "unparsable"),
    ("VERDICT:", "unparsable"),
    ("VERDICT: valid|invalid", "unparsable"),  # the format echoed: both words
    ("VERDICT: valid or invalid", "unparsable"),
    ("VERDICT: not valid", "unparsable"),
    ("VERDICT: mostly valid", "unparsable"),
    ("VERDICT: valid\nOn second thought, step 2 is wrong.\nVERDICT: invalid", "invalid"),
    ("The answer is valid, the steps are invalid.", "unparsable"),  # words, no verdict line
])
def test_verdicts_are_read_from_the_last_verdict_line(reply, label):
    assert parse_verdict(reply) == label


def test_a_missing_reply_is_unparsable():
    assert parse_verdict(None) == "unparsable"
    assert parse_verdict(float("nan")) == "unparsable"


# --- the prompt ----------------------------------------------------------------------------

def test_the_instruction_is_filled_in_one_pass():
    problem = "Find $x$ with {solution} = \\frac{1}{2}."  # a placeholder inside a text
    prompt = fill_instruction(DEFAULT_INSTRUCTION, problem, "x = {problem}", "1/2")
    assert problem in prompt and "x = {problem}" in prompt and "Reference answer: 1/2" in prompt
    assert prompt.rstrip().endswith("VERDICT: invalid")
    with pytest.raises(ValueError, match=r"\{solution\}"):
        fill_instruction("Check {problem}.", "p", "s")


def test_the_judge_template_is_a_catalog_key_with_its_stops_or_inline_text():
    config = _with_judge(template="qwen-chat")
    template = judge_template(config)
    assert template["text"] == PAPER["prompt_templates"]["qwen-chat"]
    assert template["stop_token_ids"] == [151645, 151643]
    assert "user" not in template["stop"]  # a judge's reply may say "user"
    inline = judge_template(_with_judge(template="Judge this:\n{question}\nReply:"))
    assert inline == {"text": "Judge this:\n{question}\nReply:", "stop": [], "stop_token_ids": []}


# --- agreement ------------------------------------------------------------------------------

def test_cohen_kappa_against_hand_computed_values():
    people = [1, 1, 1, 0, 0, 1, 0, 1]
    judge = [1, 1, 0, 0, 1, 1, 0, 1]
    # p_o = 6/8; each rater 5 ones of 8: p_e = (5*5 + 3*3) / 64 = 34/64;
    # kappa = (48/64 - 34/64) / (30/64) = 14/30.
    assert cohen_kappa(people, judge) == pytest.approx(7 / 15)
    assert cohen_kappa([1, 0, 1, 0], [1, 0, 1, 0]) == pytest.approx(1.0)
    assert cohen_kappa([1, 0, 1, 0], [0, 1, 0, 1]) == pytest.approx(-1.0)
    # Chance agreement 1 (both say valid every time): undefined, not 1.
    assert math.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))
    assert math.isnan(cohen_kappa([], []))


def _sheet_rows(benchmark: str, rl_model: str, samples: list[tuple[str, int]],
                base: str = "b") -> list[dict]:
    return [dict(family="f", regime="r", base_model=base, rl_model=rl_model,
                 benchmark=benchmark, temperature=0.6, problem_id=problem, sample_id=sample,
                 question=f"q {problem}", reference_answer="1",
                 completion="" if sample == NO_CORRECT_SAMPLE else f"chain {problem}.{sample}",
                 valid=0 if sample == NO_CORRECT_SAMPLE else pd.NA,
                 note="") for problem, sample in samples]


def _frame(rows: list[dict], **columns) -> pd.DataFrame:
    frame = pd.DataFrame(rows).reindex(columns=ANNOTATION_COLUMNS)
    for name, values in columns.items():
        frame[name] = values
    return frame.astype({"valid": "Int64", "sample_id": "int64", "temperature": float})


def test_agreement_counts_each_base_sample_once():
    samples = [("p1", 0), ("p1", 1), ("p2", 0), ("p3", 0), ("p4", 2), ("p5", 0), ("p6", 0),
               ("p7", 0), ("p8", 0), ("p9", 0)]
    # Base b has two RL models: each base sample is on two rows, one item for agreement.
    rows = _sheet_rows("math500", "rl1", samples) + _sheet_rows("math500", "rl2", samples)
    labels = ["valid", "valid", "invalid", "invalid", "valid", "valid", "invalid", "valid",
              "unparsable", "valid"]
    judged = _frame(rows, judge=labels * 2, judge_text="...")
    # People labelled the first eight samples (on rl1's rows) and left p9 blank.
    people_valid = [1, 1, 1, 0, 0, 1, 0, 1, 1, pd.NA]
    people = _frame(_sheet_rows("math500", "rl1", samples), valid=people_valid)
    summary = judge_summary(judged, people).set_index("benchmark")
    row = summary.loc["math500"]
    assert row["n_judged"] == 10
    assert (row["judge_valid"], row["judge_invalid"], row["judge_unparsable"]) == (6, 3, 1)
    # Items both labelled, the judge's unparsable one (p8) apart: the hand-computed case.
    assert row["n_both"] == 8 and row["people_labelled_judge_unparsable"] == 1
    assert row["agree"] == 6 and row["raw_agreement"] == pytest.approx(0.75)
    assert row["kappa"] == pytest.approx(7 / 15)
    assert (row["both_valid"], row["people_valid_judge_invalid"],
            row["people_invalid_judge_valid"], row["both_invalid"]) == (4, 1, 1, 2)
    assert summary.loc["all", "kappa"] == pytest.approx(7 / 15)
    alone = judge_summary(judged).set_index("benchmark")
    assert alone.loc["all", "n_both"] == 0 and math.isnan(alone.loc["all", "kappa"])


def test_people_labelling_one_sample_both_ways_is_refused():
    samples = [("p1", 0)]
    rows = _sheet_rows("math500", "rl1", samples) + _sheet_rows("math500", "rl2", samples)
    judged = _frame(rows, judge="valid", judge_text="")
    with pytest.raises(ValueError, match="both valid and not valid"):
        judge_summary(judged, _frame(rows, valid=[1, 0]))


# --- C5 from the judge --------------------------------------------------------------------

REGISTRY = pd.DataFrame({
    "model": ["b", "rl1"], "family": ["f", "f"], "role": ["base", "rl"], "parent": ["", "b"],
    "algorithm": ["", ""], "step": [0, 0], "regime": ["", "r"], "study": ["", ""],
    "rl_seed": [0, 0], "checkpoint_of": ["", ""], "source": ["hub", "hub"],
    "revision_or_sha256": ["x", "y"]})


def test_c5_comes_from_people_where_they_labelled_else_from_the_judge():
    math = [("p1", 0), ("p1", 1), ("p2", 0), ("p3", NO_CORRECT_SAMPLE)]
    aime = [("a1", 0), ("a2", 0), ("a3", 0)]
    judged = _frame(_sheet_rows("math500", "rl1", math) + _sheet_rows("aime24", "rl1", aime),
                    judge=["invalid", "valid", "invalid", "", "valid", "unparsable", "invalid"])
    judged["valid"] = pd.array([0, 1, 0, 0, 1, pd.NA, 0], dtype="Int64")
    people = _frame(_sheet_rows("math500", "rl1", math), valid=[0, 0, 1, 0])
    table = c5_with_judge(people, judged, REGISTRY, "j", level=0.95)
    assert list(table.columns) == C5_JUDGED_COLUMNS
    rows = table.set_index("benchmark")
    # math500 from people: p2 valid, p1 not (both samples 0), p3 has no chain.
    assert rows.loc["math500", ["mode", "labelled_by"]].tolist() == ["annotated", "people"]
    assert rows.loc["math500", ["model_solved", "base_valid"]].tolist() == [3, 1]
    # aime24 from the judge: a1 valid, a3 not, a2 unparsable (undecided).
    assert rows.loc["aime24", ["mode", "labelled_by"]].tolist() == ["judged", "judge j"]
    assert rows.loc["aime24", ["model_solved", "base_valid", "n_undecided"]].tolist() == [2, 1, 1]
    # Without people's file every row is the judge's, as c5_from_annotations reads it.
    alone = c5_with_judge(None, judged, REGISTRY, "j")
    assert (alone["mode"] == "judged").all()
    expected = c5_from_annotations(judged.reindex(columns=ANNOTATION_COLUMNS), REGISTRY)
    assert alone["share"].tolist() == pytest.approx(expected["share"].tolist())
    section = judge_report_section(judge_summary(judged, people), table, "j")
    assert "rl1 on aime24" in section and "not by people" in section
    # The claims report marks the judge's C5 scopes (read back as the report reads the CSV).
    written = pd.read_csv(io.StringIO(table.to_csv(index=False)))
    evidence = {row["scope"]: row["evidence"] for row in c5_rows(written, REGISTRY)
                if "benchmark=" in row["scope"]}
    assert "checked by the judge j, NOT by people" in evidence["family=f/regime=r/benchmark=aime24"]
    assert "judge" not in evidence["family=f/regime=r/benchmark=math500"]


# --- the config check ---------------------------------------------------------------------

def _with_judge(**judge) -> dict:
    config = copy.deepcopy(PAPER)
    config.setdefault("analysis", {})["cot_judge"] = {"model": "qwen25_math_7b-instruct",
                                                      "template": "qwen-chat", **judge}
    return config


def _checked(config: dict) -> None:
    validate(config, str(REPO / "schemas/paper.schema.yaml"))
    check_paper_config(config)


def test_a_judge_config_passes_and_an_unknown_judge_model_is_refused_naming_the_key():
    _checked(_with_judge(temperature=0, max_new_tokens=1024))
    with pytest.raises(ConfigError, match=r"'analysis\.cot_judge\.model': 'qwen3_72b' is not "
                                          r"a model of this config"):
        _checked(_with_judge(model="qwen3_72b"))
    with pytest.raises(ConfigError, match=r"'analysis\.cot_judge\.template'"):
        _checked(_with_judge(template="qwen-chatt"))
    with pytest.raises(ConfigError, match=r"'analysis\.cot_judge\.instruction'.*\{solution\}"):
        _checked(_with_judge(instruction="Is this right? {problem}"))
    # The judge's own context (vLLM) must leave room for a prompt.
    with pytest.raises(ConfigError, match=r"'analysis\.cot_judge\.max_new_tokens'"):
        _checked(_with_judge(max_new_tokens=4096))


# --- end to end on a tiny local checkpoint -------------------------------------------------

@pytest.fixture(scope="module")
def judge_checkpoint(tmp_path_factory) -> str:
    from tiny_hub import byte_tokenizer, tiny_model

    folder = tmp_path_factory.mktemp("judge") / "model"
    tokenizer = byte_tokenizer()
    tiny_model(tokenizer, seed=3).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


HF = {"backend": "hf", "top_p": 1.0, "max_new_tokens": 12, "dtype": "float32"}
TEMPLATE = {"text": "<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n",
            "stop": ["<|im_end|>"], "stop_token_ids": []}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny export: two RL models of one base (each base sample on two rows), one problem
    without a correct base sample, LaTeX and a comma in the texts, written as the export
    rule writes it."""
    samples = [("p1", 0), ("p1", 3), ("p2", 1), ("p3", NO_CORRECT_SAMPLE)]
    rows = _sheet_rows("math500", "rl1", samples) + _sheet_rows("math500", "rl2", samples[:2])
    sheet = _frame(rows)
    sheet.loc[0, "completion"] = "We have $\\frac{1}{2}$, so\nthe answer is \\boxed{1}."
    path = tmp_path_factory.mktemp("export") / "to_annotate.csv"
    write_csv(sheet, path)
    return read_annotations(path)


def _valid(values) -> list:
    return [None if pd.isna(value) else int(value) for value in values]


def test_the_judge_labels_every_exported_sample(judge_checkpoint, exported, tmp_path):
    from rlvr_boundary.sampling.checkpoints import sample_problems

    judged = judge_annotations(judge_checkpoint, exported, TEMPLATE, DEFAULT_INSTRUCTION, HF,
                               temperature=0.0, seed=0)
    assert list(judged.columns) == JUDGED_COLUMNS and len(judged) == len(exported)
    assert judged[ANNOTATION_COLUMNS[:9]].equals(exported[ANNOTATION_COLUMNS[:9]])
    real = judged["sample_id"] != NO_CORRECT_SAMPLE
    assert judged.loc[real, "judge"].isin(LABELS).all()
    assert [parse_verdict(text) for text in judged.loc[real, "judge_text"]] == \
        judged.loc[real, "judge"].tolist()
    # valid follows the label; the no-chain row keeps its 0 and gets no label.
    assert _valid(judged.loc[real, "valid"]) == [
        {"valid": 1, "invalid": 0}.get(label) for label in judged.loc[real, "judge"]]
    no_chain = judged[~real].iloc[0]
    assert (no_chain["judge"], no_chain["judge_text"], no_chain["valid"]) == ("", "", 0)
    # One reply per base sample, on each RL model's row of it: the raw greedy reply, as the
    # backend gives it for the same prompts.
    distinct = exported[exported["sample_id"] != NO_CORRECT_SAMPLE].drop_duplicates(
        ["problem_id", "sample_id"])
    prompts = [fill_instruction(DEFAULT_INSTRUCTION, r.question, r.completion,
                                r.reference_answer) for r in distinct.itertuples()]
    replies = sample_problems(judge_checkpoint, pd.DataFrame({
        "problem_id": [f"{r.problem_id}/{r.sample_id}" for r in distinct.itertuples()],
        "question": prompts}), TEMPLATE, 1, 0.0, HF, 0).set_index("problem_id")["completion"]
    assert len(replies) == 3
    for row in judged[real].itertuples():
        assert row.judge_text == replies[f"{row.problem_id}/{row.sample_id}"]
    # Written and read back: the annotation format, and the judge's columns kept as written.
    path = tmp_path / "judged.csv"
    write_csv(judged, path)
    assert _valid(read_annotations(path)["valid"]) == _valid(judged["valid"])
    again = read_judged(path)
    assert again["judge"].tolist() == judged["judge"].tolist()
    assert again["judge_text"].tolist() == judged["judge_text"].tolist()


def test_each_verdict_fills_valid_on_every_row_of_its_sample(exported, tmp_path, monkeypatch):
    """The backend stood in for by scripted replies (one per prompt, chosen by the solution
    it shows): the label and valid of each base sample on each of its rows, one request per
    distinct sample, the reply kept verbatim and a reply cut at max_new_tokens noted."""
    import rlvr_boundary.sampling.judge as judge_module

    replies = {"chain p1.3": "Fine.\nVERDICT: valid", "chain p2.1": "**Verdict:** Invalid.",
               "$\\frac{1}{2}$": "Step 2 is unclear"}
    asked = []

    def scripted(model_path, problems, template, n, temperature, settings, seed, *args):
        asked.extend(problems["question"])
        chosen = [next(reply for key, reply in replies.items() if key in question)
                  for question in problems["question"]]
        return pd.DataFrame({"problem_id": problems["problem_id"], "sample_id": 0,
                             "completion": chosen,
                             "finish_reason": ["length" if "unclear" in c else "stop"
                                               for c in chosen]})

    monkeypatch.setattr(judge_module, "sample_problems", scripted)
    judged = judge_annotations(str(tmp_path), exported, TEMPLATE, DEFAULT_INSTRUCTION, HF,
                               temperature=0.0, seed=0)
    assert len(asked) == 3  # p1/0 is on two rows, asked once
    rows = judged.set_index(["rl_model", "problem_id", "sample_id"])
    for rl in ("rl1", "rl2"):
        assert rows.loc[(rl, "p1", 0), ["judge", "valid"]].tolist() == ["unparsable", pd.NA]
        assert rows.loc[(rl, "p1", 0), "note"] == "judge: reply cut at max_new_tokens"
        assert rows.loc[(rl, "p1", 3), ["judge", "valid", "judge_text"]].tolist() == [
            "valid", 1, "Fine.\nVERDICT: valid"]
    assert rows.loc[("rl1", "p2", 1), ["judge", "valid"]].tolist() == ["invalid", 0]
    assert rows.loc[("rl1", "p3", NO_CORRECT_SAMPLE), ["judge", "valid"]].tolist() == ["", 0]


def test_a_prompt_longer_than_the_judges_context_is_not_sent(judge_checkpoint, exported):
    judged = judge_annotations(judge_checkpoint, exported, TEMPLATE, DEFAULT_INSTRUCTION,
                               {**HF, "max_model_len": 64}, temperature=0.0, seed=0)
    real = judged[judged["sample_id"] != NO_CORRECT_SAMPLE]
    assert (real["judge"] == "unparsable").all() and (real["judge_text"] == "").all()
    assert real["note"].str.contains(r"not asked, its prompt \(\d+ tokens\) and "
                                     r"max_new_tokens 12 exceed its context 64").all()
    assert real["valid"].isna().all()


# --- the plan ------------------------------------------------------------------------------

def _dry_run_jobs(stdout: str, rule: str) -> list[dict]:
    jobs = []  # local rules (the report, C5's import) print as "localrule <name>:"
    for block in re.split(r"\n(?:local)?rule ", stdout)[1:]:
        if block.split(":", 1)[0] != rule:
            continue
        fields = dict(re.findall(r"^\s+(\w+): (.*)$", block, re.MULTILINE))
        fields["input"] = fields.get("input", "").split(", ")
        fields["resources"] = dict(item.split("=", 1)
                                   for item in fields.get("resources", "").split(", ") if item)
        jobs.append(fields)
    return jobs


def test_a_dry_run_plans_one_judge_job_per_benchmark(tmp_path):
    """configs/paper_smoke.yaml with a judge: one GPU job per benchmark reading that
    benchmark's export and the judge's manifest; the summary, C5 and the report read them."""
    config = yaml.safe_load((REPO / "configs/paper_smoke.yaml").read_text())
    config.setdefault("analysis", {})["cot_judge"] = {
        "model": "qwen25_7b-simplerl-zoo", "template": "qwen-chat", "max_new_tokens": 512}
    path = tmp_path / "smoke_judge.yaml"
    path.write_text(yaml.safe_dump(config))
    (tmp_path / "run").mkdir()
    result = run_snakemake(REPO, "-n", "--configfile", str(path), "--directory",
                           str(tmp_path / "run"), timeout=300)
    jobs = _dry_run_jobs(result.stdout, "judge_cot_annotations")
    assert sorted(job["wildcards"] for job in jobs) == ["benchmark=aime24", "benchmark=math500"]
    for job in jobs:
        benchmark = job["wildcards"].split("=", 1)[1]
        assert _results(job["input"]) == [
            f"results/annotations/{benchmark}/to_annotate.csv",
            "results/models/qwen25_7b-simplerl-zoo/manifest.json"]
        assert job["resources"]["gpu"] == "1"
        assert f"results/annotations/{benchmark}/judged.csv" in job["output"].split(", ")
    judged = ["results/annotations/aime24/judged.csv", "results/annotations/math500/judged.csv"]
    (summary,) = _dry_run_jobs(result.stdout, "summarize_cot_judge")
    assert _results(summary["input"]) == judged
    (imported,) = _dry_run_jobs(result.stdout, "import_cot_annotations")
    assert set(judged) <= set(imported["input"])
    (report,) = _dry_run_jobs(result.stdout, "write_claims_report")
    assert {"results/tables/cot_judge.csv", "results/tables/cot_validity.csv"} <= set(
        report["input"])


def _results(files: list[str]) -> list[str]:
    """The data inputs of a job (every job also reads its package code)."""
    return sorted(f for f in files if f.startswith("results/"))


PROBE = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.iocontainers import Wildcards
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

repo, cases = Path(sys.argv[1]), json.loads(sys.argv[2])
found = []
for overrides in cases:
    with SnakemakeApi(OutputSettings()) as api:
        workflow = api.workflow(
            snakefile=repo / "Snakefile", workdir=Path.cwd(), resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[repo / "configs/paper.yaml"],
                                           config=overrides))._workflow
        rule = workflow.get_rule("judge_cot_annotations")
        found.append({b: rule.params.job(Wildcards(fromdict={"benchmark": b}))
                      for b in ("math500", "aime24")})
print("PARAMS " + json.dumps(found))
"""


def test_the_judge_job_samples_with_its_own_settings(tmp_path):
    """The judge's job param (rule judge_cot_annotations) on configs/paper.yaml: the judge
    model's context and GPU split, the judge's own budget, temperature and top_p, the
    catalog template's stops, a seed per benchmark; nothing of the study's sampling that
    does not change its replies (shards, temperatures)."""
    judge = {"model": "qwen25_math_7b-instruct", "template": "qwen-chat",
             "max_new_tokens": 1024, "temperature": 0.1}
    cases = [{"analysis": {"cot_judge": judge}},
             {"analysis": {"cot_judge": {**judge, "max_model_len": 3000}}}]
    result = subprocess.run([sys.executable, "-c", PROBE, str(REPO), json.dumps(cases)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("PARAMS ")]
    assert result.returncode == 0 and lines, result.stdout[-3000:] + result.stderr[-3000:]
    own, shorter = json.loads(lines[0].removeprefix("PARAMS "))
    job = own["math500"]
    assert job["model"] == "qwen25_math_7b-instruct" and job["temperature"] == 0.1
    assert job["template"] == judge_template(_with_judge(template="qwen-chat"))
    assert job["instruction"] == DEFAULT_INSTRUCTION
    sampling = job["sampling"]
    # The model's own 4,096-position context; the judge's budget, not the model's 3,584.
    assert sampling["max_model_len"] == 4096 and sampling["max_new_tokens"] == 1024
    assert sampling["top_p"] == 1.0 and sampling["tensor_parallel_size"] == 1
    assert sampling["backend"] == "vllm" and not {"shards", "temperatures"} & set(sampling)
    assert own["aime24"]["seed"] != job["seed"]
    assert shorter["math500"]["sampling"]["max_model_len"] == 3000


def test_the_import_and_summary_scripts_read_the_judged_files(tmp_path, monkeypatch):
    """scripts/import_cot_annotations.py and scripts/summarize_cot_judge.py with Snakemake's
    object stood in for: C5 from people's file where it labels, else from judged.csv; the
    summary's agreement on the samples both labelled."""
    import logging
    import runpy
    from types import SimpleNamespace

    math = [("p1", 0), ("p2", 0)]
    aime = [("a1", 0), ("a2", 0)]
    judged = _frame(_sheet_rows("math500", "rl1", math) + _sheet_rows("aime24", "rl1", aime),
                    judge=["valid", "invalid", "valid", "invalid"], judge_text="VERDICT: ...",
                    valid=[1, 0, 1, 0])
    judged_path, people_path = tmp_path / "judged.csv", tmp_path / "people.csv"
    write_csv(judged[JUDGED_COLUMNS], judged_path)
    write_csv(_frame(_sheet_rows("math500", "rl1", math), valid=[1, 1]), people_path)
    registry = tmp_path / "models.csv"
    REGISTRY.to_csv(registry, index=False)
    monkeypatch.setattr("rlvr_boundary.workflow.job_io.start_job",
                        lambda path: logging.getLogger("job"))
    scripts = REPO / "scripts"
    table, summary = tmp_path / "cot_validity.csv", tmp_path / "cot_judge.csv"
    runpy.run_path(str(scripts / "import_cot_annotations.py"), init_globals={
        "snakemake": SimpleNamespace(
            input=SimpleNamespace(annotations=[str(people_path)], judged=[str(judged_path)],
                                  registry=str(registry)),
            output=SimpleNamespace(table=str(table)), log=[str(tmp_path / "import.log")],
            params=SimpleNamespace(level=0.95, judge="j"))})
    runpy.run_path(str(scripts / "summarize_cot_judge.py"), init_globals={
        "snakemake": SimpleNamespace(
            input=SimpleNamespace(annotations=[str(people_path)], judged=[str(judged_path)]),
            output=SimpleNamespace(table=str(summary)), log=[str(tmp_path / "summary.log")])})
    rows = pd.read_csv(table).set_index("benchmark")
    assert rows.loc["math500", ["labelled_by", "base_valid"]].tolist() == ["people", 2]
    assert rows.loc["aime24", ["mode", "labelled_by", "base_valid"]].tolist() == [
        "judged", "judge j", 1]
    agreement = pd.read_csv(summary).set_index("benchmark")
    assert agreement.loc["math500", ["n_both", "agree", "people_valid_judge_invalid"]].tolist() \
        == [2, 1, 1]
    assert agreement.loc["all", "n_judged"] == 4
