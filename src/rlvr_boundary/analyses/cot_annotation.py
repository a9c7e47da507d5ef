"""Human annotation of the base model's chains of thought (claim C5 on real benchmarks).

Claim C5: for most problems an RL model solves, the base model produces at least one
correct chain of thought. The tiny world checks every step automatically
(cot_validity.py); real math benchmarks have no step checker, so people check.

The protocol:

1. Export. For every (RL model, its base) pair and one benchmark, metric and
   temperature, take the problems the RL model solves (c > 0). For each, write the
   first ``samples_per_problem`` correct samples of the BASE model (by sample_id)
   to a CSV, one row per sample, with the question and reference answer beside it,
   plus one HTML page per problem for reading. A solved problem where the base has
   no correct sample gets a single row with sample_id -1, no completion and
   valid = 0 already filled in: there is no chain to check, so it can never count.
2. Annotate. For each row put 1 in ``valid`` when every step of the chain is right,
   0 when some step is wrong (e.g. a lucky final answer); ``note`` is free text.
   Rows may be left blank.
3. Import. A problem is *decided* when one of its samples is valid = 1 (the base
   has a correct chain) or all its samples are annotated 0 (it has none). Undecided
   problems (some rows blank, none valid) are left out and counted in n_undecided.
   share = #problems with a valid base chain / #decided problems, with an exact
   Clopper-Pearson interval. The table has cot_validity.COT_COLUMNS (mode
   "annotated", steps checked) so boundary_claims.c5_rows reads it unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import html
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .cot_validity import COT_COLUMNS
from .coverage import model_pairs, select_counts
from ..stats.exact import clopper_pearson

ANNOTATION_COLUMNS = [
    "family", "regime", "base_model", "rl_model", "benchmark", "temperature", "problem_id",
    "sample_id", "question", "reference_answer", "completion", "valid", "note",
]
# Columns the import needs; annotators may drop the long text ones from their copy.
REQUIRED_COLUMNS = ["family", "regime", "base_model", "rl_model", "benchmark", "temperature",
                    "problem_id", "sample_id", "valid"]
ANNOTATION_KEY = ["rl_model", "benchmark", "problem_id", "sample_id"]
NO_CORRECT_SAMPLE = -1
NO_CORRECT_SAMPLE_NOTE = "base has no correct sample"
C5_ANNOTATED_COLUMNS = [*COT_COLUMNS, "n_undecided"]
VALID_WORDS = {"1": 1, "yes": 1, "true": 1, "0": 0, "no": 0, "false": 0, "": pd.NA}


# --- export ---------------------------------------------------------------------------------


def _solved_problems(counts: pd.DataFrame, model: str, benchmark: str) -> list[str]:
    rows = counts[(counts["model"] == model) & (counts["benchmark"] == benchmark)
                  & (counts["c"] > 0)]
    return sorted(rows["problem_id"].astype(str).unique())


def _base_correct_samples(scored: pd.DataFrame, metric: str) -> dict[str, pd.DataFrame]:
    """problem_id -> the correct samples sorted by sample_id; every sampled problem is a key
    (an empty frame when none is correct), so an unsampled problem can be told apart."""
    status = f"grade_status_{metric}"
    if status not in scored.columns:
        raise ValueError(f"scored samples lack column {status!r}")
    scored = scored.assign(problem_id=scored["problem_id"].astype(str)).sort_values(
        ["problem_id", "sample_id"], kind="stable")
    return {problem: group[group[status] == "correct"]
            for problem, group in scored.groupby("problem_id", sort=False)}


def export_annotations(counts: pd.DataFrame, registry: pd.DataFrame,
                       scored_by_model: dict[str, pd.DataFrame], problems: pd.DataFrame,
                       benchmark: str, metric: str, temperature: float,
                       samples_per_problem: int) -> pd.DataFrame:
    """The annotation sheet (ANNOTATION_COLUMNS) for one benchmark, metric and temperature.

    Every RL model with counts on ``benchmark`` enters with its base; the base's scored
    samples must be in ``scored_by_model`` and cover every problem the RL model solves.
    Rows are ordered by pair (model_pairs order), problem_id, sample_id.
    """
    if samples_per_problem < 1:
        raise ValueError(f"samples_per_problem must be at least 1, got {samples_per_problem}")
    selected = select_counts(counts, metric, temperature)
    selected = selected[selected["benchmark"] == benchmark]
    texts = problems.assign(problem_id=problems["problem_id"].astype(str)).set_index("problem_id")
    rows = []
    pairs = model_pairs(registry, roles=("rl",))
    # C5 is a claim about the main models; a study's (algorithms, seeds, ...) are not annotated.
    for pair in pairs[pairs["study"] == ""].itertuples(index=False):
        if not (selected["model"] == pair.other_model).any():
            continue  # this RL model was not evaluated on the benchmark
        if pair.base_model not in scored_by_model:
            raise ValueError(f"no scored samples of base {pair.base_model!r} (of RL model "
                             f"{pair.other_model!r}) on {benchmark}")
        correct = _base_correct_samples(scored_by_model[pair.base_model], metric)
        for problem in _solved_problems(selected, pair.other_model, benchmark):
            if problem not in texts.index:
                raise ValueError(f"problem {problem!r} of {benchmark} is not in the problems file")
            if problem not in correct:
                raise ValueError(f"base {pair.base_model!r} has no samples of {benchmark} "
                                 f"problem {problem!r}")
            shared = dict(family=pair.family, regime=pair.regime, base_model=pair.base_model,
                          rl_model=pair.other_model, benchmark=benchmark,
                          temperature=float(temperature), problem_id=problem,
                          question=texts.at[problem, "question"],
                          reference_answer=texts.at[problem, "reference_answer"])
            chosen = correct[problem].head(samples_per_problem)
            if chosen.empty:
                rows.append(shared | dict(sample_id=NO_CORRECT_SAMPLE, completion="", valid=0,
                                          note=NO_CORRECT_SAMPLE_NOTE))
            for sample in chosen.itertuples(index=False):
                rows.append(shared | dict(sample_id=int(sample.sample_id),
                                          completion=sample.completion, valid=pd.NA, note=""))
    sheet = pd.DataFrame(rows, columns=ANNOTATION_COLUMNS)
    return sheet.astype({"temperature": float, "sample_id": "int64", "valid": "Int64"})


# --- reading pages --------------------------------------------------------------------------

PAGE_STYLE = """body { font-family: sans-serif; max-width: 60em; margin: 2em auto; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: 1em; border: 1px solid #ccc; }
.verdict { font-size: 1.1em; } td, th { padding: 0.2em 0.8em; text-align: left; }"""
# Filenames keep these characters; any other becomes "_" (and a hash keeps names distinct).
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def page_name(benchmark: str, problem_id: str) -> str:
    """A filename-safe, collision-free page name for one problem."""
    raw = f"{benchmark}__{problem_id}"
    safe = _UNSAFE.sub("_", raw)
    if safe != raw:
        safe += "-" + hashlib.sha1(raw.encode()).hexdigest()[:8]
    return f"{safe}.html"


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title>\n<style>{PAGE_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def _problem_page(benchmark: str, problem_id: str, rows: pd.DataFrame) -> str:
    first = rows.iloc[0]
    parts = ["<p><a href=\"index.html\">all problems</a></p>",
             f"<h1>{html.escape(benchmark)} / {html.escape(problem_id)}</h1>",
             "<h2>Question</h2>", f"<pre>{html.escape(str(first['question']))}</pre>",
             "<h2>Reference answer</h2>",
             f"<pre>{html.escape(str(first['reference_answer']))}</pre>"]
    # The same base sample appears once per RL model of that base: show it once.
    for (base, sample_id), sample in rows.groupby(["base_model", "sample_id"], sort=True):
        solved_by = ", ".join(sorted(sample["rl_model"].astype(str).unique()))
        parts.append(f"<h2>Base {html.escape(str(base))}, sample {int(sample_id)}</h2>")
        parts.append(f"<p>solved by RL model(s): {html.escape(solved_by)}</p>")
        if sample_id == NO_CORRECT_SAMPLE:
            parts.append(f"<p><b>{html.escape(NO_CORRECT_SAMPLE_NOTE)}</b>: counts as no valid "
                         "chain, nothing to annotate.</p>")
            continue
        parts.append(f"<pre>{html.escape(str(sample['completion'].iloc[0]))}</pre>")
        parts.append("<p class=\"verdict\">valid: &#9744; 1 (every step right) &nbsp; "
                     "&#9744; 0 (a wrong step) &nbsp; note: ____________________</p>")
    return _page(f"{benchmark} / {problem_id}", "\n".join(parts))


def annotation_pages(annotations: pd.DataFrame) -> dict[str, str]:
    """One self-contained HTML page per (benchmark, problem_id), plus ``index.html``.

    Returns {file name: html}. The pages are for reading; verdicts go in the CSV.
    """
    pages = {}
    index_rows = []
    for (benchmark, problem_id), rows in annotations.groupby(["benchmark", "problem_id"],
                                                             sort=True):
        name = page_name(str(benchmark), str(problem_id))
        pages[name] = _problem_page(str(benchmark), str(problem_id), rows)
        samples = rows.loc[rows["sample_id"] != NO_CORRECT_SAMPLE, ["base_model", "sample_id"]]
        index_rows.append(
            f"<tr><td><a href=\"{html.escape(name)}\">{html.escape(str(benchmark))}</a></td>"
            f"<td>{html.escape(str(problem_id))}</td>"
            f"<td>{len(samples.drop_duplicates())}</td>"
            f"<td>{rows['rl_model'].nunique()}</td></tr>")
    table = ("<table>\n<tr><th>benchmark</th><th>problem</th><th>base samples to check</th>"
             "<th>RL models solving it</th></tr>\n" + "\n".join(index_rows) + "\n</table>")
    body = (f"<h1>Chain-of-thought annotation</h1>\n<p>{len(index_rows)} problems, "
            f"{int((annotations['sample_id'] != NO_CORRECT_SAMPLE).sum())} rows to annotate in "
            "the CSV (valid = 1: every step right, 0: a wrong step).</p>\n" + table)
    pages["index.html"] = _page("Chain-of-thought annotation", body)
    return pages


# --- import ---------------------------------------------------------------------------------


def _records_with_lines(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (1-based line where the record starts, fields) for every non-blank record.

    Read with the csv module, not pandas: completions span several lines, and an error
    should name the line a person finds in an editor.
    """
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file, expected a header line")
        records = []
        start = reader.line_num + 1
        for fields in reader:
            if any(field.strip() for field in fields):
                records.append((start, fields))
            start = reader.line_num + 1
    return [name.strip() for name in header], records


def _parse_valid(text: str, where: str):
    word = text.strip().lower()
    if word not in VALID_WORDS:
        raise ValueError(f"{where}: valid must be 1/0/yes/no/true/false or blank, got {text!r}")
    return VALID_WORDS[word]


def read_annotations(path) -> pd.DataFrame:
    """A filled annotation CSV as ANNOTATION_COLUMNS with valid as Int64 (1, 0 or <NA>).

    Errors name the file and the 1-based line of the offending record: a missing
    column, a bad valid / sample_id / temperature value, a valid = 1 on a
    no-correct-sample row, a duplicate (rl_model, benchmark, problem_id, sample_id).
    """
    path = Path(path)
    header, records = _records_with_lines(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"{path}, line 1: missing columns {missing}")
    position = {name: header.index(name) for name in ANNOTATION_COLUMNS if name in header}
    rows, first_line = [], {}
    for line, fields in records:
        where = f"{path}, line {line}"
        if len(fields) != len(header):
            raise ValueError(f"{where}: {len(fields)} fields, the header has {len(header)}")
        row = {name: fields[i] for name, i in position.items()}
        row["valid"] = _parse_valid(row["valid"], where)
        try:
            row["sample_id"] = int(row["sample_id"])
            row["temperature"] = float(row["temperature"])
        except ValueError as error:
            raise ValueError(f"{where}: bad sample_id or temperature ({error})") from None
        if row["sample_id"] == NO_CORRECT_SAMPLE and row["valid"] is not pd.NA \
                and row["valid"] == 1:
            raise ValueError(f"{where}: sample_id {NO_CORRECT_SAMPLE} ({NO_CORRECT_SAMPLE_NOTE}) "
                             "cannot be valid = 1")
        key = tuple(row[c] for c in ANNOTATION_KEY)
        if key in first_line:
            raise ValueError(f"{where}: duplicate of line {first_line[key]} for "
                             f"{dict(zip(ANNOTATION_KEY, key))}")
        first_line[key] = line
        rows.append(row)
    table = pd.DataFrame(rows, columns=ANNOTATION_COLUMNS)
    text_columns = [c for c in ANNOTATION_COLUMNS
                    if c not in ("temperature", "sample_id", "valid")]
    table[text_columns] = table[text_columns].fillna("")  # text columns the annotator dropped
    return table.astype({"temperature": float, "sample_id": "int64", "valid": "Int64"})


# --- C5 from annotations ---------------------------------------------------------------------


def _check_consistent(annotations: pd.DataFrame) -> None:
    """Refuse duplicate rows (several files) and one base sample judged both ways."""
    duplicated = annotations.duplicated(ANNOTATION_KEY, keep=False)
    if duplicated.any():
        keys = annotations.loc[duplicated, ANNOTATION_KEY].drop_duplicates().head(3)
        raise ValueError(f"duplicate annotation rows for {keys.to_dict('records')}")
    sample = ["base_model", "benchmark", "temperature", "problem_id", "sample_id"]
    judged = annotations[annotations["valid"].notna()]
    both_ways = judged.groupby(sample)["valid"].nunique() > 1
    if both_ways.any():
        examples = both_ways[both_ways].index[:3].tolist()
        raise ValueError(f"the same base sample is annotated both valid and not valid "
                         f"(base_model, benchmark, temperature, problem_id, sample_id): "
                         f"{examples}")


def _problem_outcomes(rows: pd.DataFrame) -> pd.DataFrame:
    """Per problem: decided (a valid sample, or every sample annotated) and base_valid."""
    valid = rows["valid"]
    per_problem = pd.DataFrame({"problem_id": rows["problem_id"],
                                "is_valid": (valid == 1).fillna(False).astype(bool),
                                "annotated": valid.notna().to_numpy()})
    grouped = per_problem.groupby("problem_id")
    base_valid = grouped["is_valid"].any()
    decided = base_valid | grouped["annotated"].all()
    return pd.DataFrame({"decided": decided, "base_valid": base_valid})


def c5_from_annotations(annotations: pd.DataFrame, registry: pd.DataFrame,
                        level: float = 0.95) -> pd.DataFrame:
    """C5 per (RL model, benchmark) from annotated base chains (C5_ANNOTATED_COLUMNS).

    model_solved counts the decided problems, base_valid those with a valid base chain;
    share = base_valid / model_solved with an exact Clopper-Pearson CI (NaN when nothing
    is decided). Each problem gives one 0/1 outcome, so the count of valid problems is
    binomial and the exact interval fits; a problem-level bootstrap of 0/1 outcomes would
    only approximate it and collapses to a point at 0 or all valid.
    n_problems is the number of RL-solved problems in the annotations (not the benchmark
    size); n_undecided those with blank rows and no valid one.
    """
    annotations = annotations.copy()
    annotations["valid"] = annotations["valid"].astype("Int64")
    # A solved problem without a correct base sample has no chain: never valid.
    no_chain = annotations["sample_id"] == NO_CORRECT_SAMPLE
    annotations.loc[no_chain, "valid"] = annotations.loc[no_chain, "valid"].fillna(0)
    _check_consistent(annotations)
    pairs = model_pairs(registry, roles=("rl",)).set_index("other_model")
    unknown = sorted(set(annotations["rl_model"]) - set(pairs.index))
    if unknown:
        raise ValueError(f"annotations name RL models not in the registry: {unknown}")
    rows = []
    for (model, benchmark), group in annotations.groupby(["rl_model", "benchmark"], sort=False):
        pair = pairs.loc[model]
        if set(group["base_model"]) != {pair.base_model}:
            raise ValueError(f"annotations of {model} on {benchmark} name base(s) "
                             f"{sorted(set(group['base_model']))}, the registry says "
                             f"{pair.base_model!r}")
        temperatures = group["temperature"].astype(float).unique()
        if len(temperatures) != 1:
            raise ValueError(f"annotations of {model} on {benchmark} mix temperatures "
                             f"{sorted(temperatures)}")
        outcomes = _problem_outcomes(group)
        solved = int(outcomes["decided"].sum())
        valid = int(outcomes["base_valid"].sum())
        share = valid / solved if solved else float("nan")
        ci_low, ci_high = clopper_pearson(valid, solved, level)
        rows.append((pair.family, pair.regime, pair.study, pair.role, model, pair.base_model,
                     benchmark, float(temperatures[0]), "annotated", True, len(outcomes), solved,
                     valid, share, ci_low, ci_high, np.nan, np.nan,
                     int((~outcomes["decided"]).sum())))
    table = pd.DataFrame(rows, columns=C5_ANNOTATED_COLUMNS)
    return table.sort_values(["study", "family", "regime", "model", "benchmark"],
                             kind="stable").reset_index(drop=True)
