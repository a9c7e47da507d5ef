"""C5 by a language-model judge: an optional stand-in for (and check on) human annotation.

Real math has no step checker, so C5 (the base has a valid chain of thought on most
problems an RL model solves) waits for people to fill the exported annotation sheet
(:mod:`.cot_annotation`). With ``analysis.cot_judge`` set, a configured checkpoint (a model
of ``models``: fetched, verified and registered like every other) reads each exported base
sample through the same sampling backends (:mod:`rlvr_boundary.sampling.judge` runs it;
this module has what the analysis and the report need, without the model stack) and says
whether every step is valid:

1. Prompt. The judge's ``instruction`` (default :data:`DEFAULT_INSTRUCTION`) with
   ``{problem}``, ``{solution}`` and ``{reference_answer}`` filled in, in one pass (a
   placeholder inside a problem's or a solution's text is left alone), put into the judge
   model's chat ``template`` (a ``prompt_templates`` key, with its ``prompt_stops``, or
   inline text with ``{question}``). One reply per base sample, greedy at temperature 0.
2. Verdict (:func:`parse_verdict`). The last line holding ``VERDICT:`` decides: ``valid``
   or ``invalid`` after it (case, markdown emphasis and a final full stop ignored) is the
   label; anything else (both words, ``not valid``, nothing) and a reply without such a line
   are ``unparsable``. A sample whose prompt and ``max_new_tokens`` do not fit the judge's
   context is not sent, labelled ``unparsable``, and its ``note`` says why.
3. File. ``judged.csv`` is the annotation sheet (ANNOTATION_COLUMNS) with ``valid`` filled
   from the label (valid 1, invalid 0, unparsable blank: undecided), plus ``judge`` (the
   label) and ``judge_text`` (the raw reply). The same base sample appears once per RL
   model of its base; it is judged once and every row gets that verdict. Rows with
   sample_id -1 (the base has no correct sample) keep valid 0 and have no judge label.
4. C5 (:func:`c5_with_judge`). Per (RL model, benchmark), people's labels where they gave
   any, else the judge's: the table is the annotated one plus ``labelled_by``, with mode
   ``judged`` on the judge's rows.
5. Agreement (:func:`judge_summary`). On the base samples both people and the judge
   labelled: raw agreement and Cohen's kappa, with the 2 x 2 counts; the samples people
   labelled that the judge left unparsable are counted beside them, not in kappa.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .cot_annotation import (
    ANNOTATION_COLUMNS,
    C5_ANNOTATED_COLUMNS,
    NO_CORRECT_SAMPLE,
    c5_from_annotations,
)

LABELS = ("valid", "invalid", "unparsable")
LABEL_VALID = {"valid": 1, "invalid": 0, "unparsable": pd.NA}
JUDGED_COLUMNS = [*ANNOTATION_COLUMNS, "judge", "judge_text"]
C5_JUDGED_COLUMNS = [*C5_ANNOTATED_COLUMNS, "labelled_by"]
PEOPLE = "people"
PLACEHOLDERS = ("problem", "solution", "reference_answer")
REQUIRED_PLACEHOLDERS = ("problem", "solution")
DEFAULT_INSTRUCTION = """\
You are checking a solution to a math problem. Its final answer matches the reference \
answer; your task is to decide whether EVERY step of its reasoning is valid: no wrong \
calculation, no false or unjustified claim, no guess, no step that reaches the right \
answer by luck.

Problem:
{problem}

Reference answer: {reference_answer}

Solution to check:
{solution}

Check the solution step by step. Then end your reply with one final line that is exactly \
one of these two:
VERDICT: valid
VERDICT: invalid"""
# Sample keys: one base sample (it appears on one row per RL model of its base).
SAMPLE_KEY = ["base_model", "benchmark", "temperature", "problem_id", "sample_id"]
SUMMARY_COLUMNS = [
    "benchmark", "n_judged", "judge_valid", "judge_invalid", "judge_unparsable", "n_both",
    "agree", "raw_agreement", "kappa", "both_valid", "people_valid_judge_invalid",
    "people_invalid_judge_valid", "both_invalid", "people_labelled_judge_unparsable",
]
ALL = "all"

_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_VERDICT = re.compile(r"\bverdict\s*:(.*)$", re.IGNORECASE)
_EMPHASIS = re.compile(r"[*_`#>]")


# --- the judge's prompt and its verdict ------------------------------------------------------


def check_instruction(instruction: str) -> None:
    missing = [name for name in REQUIRED_PLACEHOLDERS if "{" + name + "}" not in instruction]
    if missing:
        raise ValueError(f"the judge's instruction must contain "
                         f"{', '.join('{' + name + '}' for name in missing)}")


def fill_instruction(instruction: str, problem: str, solution: str,
                     reference_answer: str = "") -> str:
    """The instruction with ``{problem}``, ``{solution}`` and ``{reference_answer}`` filled
    in one pass: braces in the texts (LaTeX, or a placeholder's name) stay as they are."""
    check_instruction(instruction)
    values = {"problem": str(problem), "solution": str(solution),
              "reference_answer": str(reference_answer)}
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], instruction)


def parse_verdict(text) -> str:
    """``valid``, ``invalid`` or ``unparsable``: the word after ``VERDICT:`` on the last line
    holding it (case, markdown emphasis, quotes, brackets and a final full stop ignored).
    Anything but exactly one of the two words there, or no such line, is unparsable."""
    if not isinstance(text, str):
        return "unparsable"
    verdicts = [match.group(1) for line in text.splitlines()
                if (match := _VERDICT.search(_EMPHASIS.sub("", line)))]
    if not verdicts:
        return "unparsable"
    word = verdicts[-1].strip().strip("\"'()[]{}").rstrip(".!").strip().lower()
    return word if word in ("valid", "invalid") else "unparsable"


def judge_template(config: dict) -> dict:
    """The judge's chat template as ``{text, stop, stop_token_ids}`` (what
    :func:`~rlvr_boundary.sampling.checkpoints.sample_problems` takes): a key of
    ``prompt_templates`` with its ``prompt_stops``, or inline text with ``{question}``."""
    judge = config["analysis"]["cot_judge"]
    name = judge["template"]
    templates = config.get("prompt_templates") or {}
    if name in templates:
        rule = (config.get("prompt_stops") or {}).get(name) or {}
        return {"text": templates[name], "stop": list(rule.get("stop") or []),
                "stop_token_ids": [int(i) for i in rule.get("stop_token_ids") or []]}
    if "{question}" not in name:
        raise ValueError(f"config key 'analysis.cot_judge.template': {name!r} is neither a key "
                         f"of prompt_templates {sorted(templates)} nor a template text with "
                         "{question}")
    return {"text": name, "stop": [], "stop_token_ids": []}


def judge_instruction(config: dict) -> str:
    instruction = config["analysis"]["cot_judge"].get("instruction") or DEFAULT_INSTRUCTION
    try:
        check_instruction(instruction)
    except ValueError as error:
        raise ValueError(f"config key 'analysis.cot_judge.instruction': {error}") from None
    return instruction


# --- the judged file ---------------------------------------------------------------------------


def read_judged(path) -> pd.DataFrame:
    """A judged.csv as JUDGED_COLUMNS (valid Int64, texts as written, empty strings kept)."""
    table = pd.read_csv(path, keep_default_na=False, dtype=str)
    missing = [c for c in JUDGED_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    table["valid"] = pd.array([pd.NA if value == "" else int(value) for value in table["valid"]],
                              dtype="Int64")
    unknown = sorted(set(table["judge"]) - set(LABELS) - {""})
    if unknown:
        raise ValueError(f"{path}: judge labels {unknown} are not one of {LABELS}")
    return table[JUDGED_COLUMNS].astype({"temperature": float, "sample_id": "int64"})


# --- C5 and agreement ---------------------------------------------------------------------------


def _labelled(annotations: pd.DataFrame) -> pd.Series:
    """Rows a person (or the judge) gave a verdict on: a real sample with valid set."""
    return (annotations["sample_id"] != NO_CORRECT_SAMPLE) & annotations["valid"].notna()


def c5_with_judge(people: pd.DataFrame | None, judged: pd.DataFrame, registry: pd.DataFrame,
                  judge: str, level: float = 0.95) -> pd.DataFrame:
    """C5 per (RL model, benchmark) as :func:`~.cot_annotation.c5_from_annotations`, from
    people's annotations where they labelled any sample of that pair (or the pair is not
    judged), else from the judge's labels (mode ``judged``); ``labelled_by`` says whose."""
    pair = ["rl_model", "benchmark"]
    people = (pd.DataFrame(columns=ANNOTATION_COLUMNS) if people is None else people)
    judged = judged.reindex(columns=ANNOTATION_COLUMNS)
    judged_pairs = set(map(tuple, judged[pair].drop_duplicates().to_numpy()))
    by_people = set(map(tuple, people.loc[_labelled(people), pair].drop_duplicates().to_numpy()))
    by_people |= set(map(tuple, people[pair].drop_duplicates().to_numpy())) - judged_pairs
    tables = []
    if by_people:
        chosen = [tuple(key) in by_people for key in people[pair].to_numpy()]
        table = c5_from_annotations(people[chosen], registry, level)
        tables.append(table.assign(labelled_by=PEOPLE))
    rest = [tuple(key) not in by_people for key in judged[pair].to_numpy()]
    if any(rest):
        table = c5_from_annotations(judged[rest], registry, level)
        tables.append(table.assign(mode="judged", labelled_by=f"judge {judge}"))
    if not tables:
        return pd.DataFrame(columns=C5_JUDGED_COLUMNS)
    table = pd.concat(tables, ignore_index=True)[C5_JUDGED_COLUMNS]
    return table.sort_values(["study", "family", "regime", "model", "benchmark"],
                             kind="stable").reset_index(drop=True)


def cohen_kappa(first, second) -> float:
    """Cohen's kappa of two raters' 0/1 labels on the same items: (p_o - p_e) / (1 - p_e),
    p_e from each rater's own share of 1s. NaN without items, or when chance agreement is
    already 1 (both raters gave every item the same single label)."""
    first, second = np.asarray(first, dtype=int), np.asarray(second, dtype=int)
    if first.shape != second.shape:
        raise ValueError("the two raters label different numbers of items")
    n = len(first)
    if n == 0:
        return float("nan")
    observed = float(np.mean(first == second))
    ones = float(first.mean() * second.mean())
    expected = ones + (1 - first.mean()) * (1 - second.mean())
    return float("nan") if np.isclose(expected, 1.0) else (observed - expected) / (1 - expected)


def _samples(table: pd.DataFrame, label: str) -> pd.DataFrame:
    """One row per real base sample with its ``label`` column (duplicates across RL models
    dropped: a sample is one item)."""
    rows = table[table["sample_id"] != NO_CORRECT_SAMPLE].assign(
        problem_id=lambda t: t["problem_id"].astype(str),
        temperature=lambda t: t["temperature"].astype(float))
    return rows[[*SAMPLE_KEY, label]].drop_duplicates(SAMPLE_KEY)


def _summary_row(benchmark: str, judged: pd.DataFrame, both: pd.DataFrame) -> dict:
    counts = judged["judge"].value_counts()
    scored = both[both["judge"] != "unparsable"]
    people = scored["valid"].astype(int).to_numpy()
    machine = (scored["judge"] == "valid").astype(int).to_numpy()
    agree = int((people == machine).sum())
    return {
        "benchmark": benchmark, "n_judged": len(judged),
        **{f"judge_{label}": int(counts.get(label, 0)) for label in LABELS},
        "n_both": len(scored), "agree": agree,
        "raw_agreement": agree / len(scored) if len(scored) else float("nan"),
        "kappa": cohen_kappa(people, machine),
        "both_valid": int(((people == 1) & (machine == 1)).sum()),
        "people_valid_judge_invalid": int(((people == 1) & (machine == 0)).sum()),
        "people_invalid_judge_valid": int(((people == 0) & (machine == 1)).sum()),
        "both_invalid": int(((people == 0) & (machine == 0)).sum()),
        "people_labelled_judge_unparsable": int((both["judge"] == "unparsable").sum()),
    }


def judge_summary(judged: pd.DataFrame, people: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per benchmark and over all (``all``): the distinct base samples judged and their
    labels, and, on the samples people labelled too, the 2 x 2 counts, raw agreement and
    Cohen's kappa (SUMMARY_COLUMNS; NaN where no sample has both labels)."""
    machine = _samples(judged, "judge")
    both = machine.iloc[0:0].assign(valid=pd.array([], dtype="Int64"))
    if people is not None and not people.empty:
        labelled = people[_labelled(people)]
        labelled = labelled.assign(problem_id=labelled["problem_id"].astype(str))
        if (labelled.groupby(SAMPLE_KEY)["valid"].nunique() > 1).any():
            raise ValueError("people's annotations label the same base sample both valid and "
                             "not valid")
        both = machine.merge(_samples(labelled, "valid"), on=SAMPLE_KEY, how="inner")
    rows = [_summary_row(b, machine[machine["benchmark"] == b], both[both["benchmark"] == b])
            for b in sorted(machine["benchmark"].unique())]
    rows.append(_summary_row(ALL, machine, both))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


# --- the report's section ---------------------------------------------------------------------


def _share(value) -> str:
    return "n/a" if pd.isna(value) else f"{value:.3f}"


def judge_report_section(summary: pd.DataFrame, cot: pd.DataFrame, judge: str) -> str:
    """The claims report's section on the judge: which C5 rows it labelled, its labels, and
    its agreement with people where both labelled a sample."""
    lines = ["## C5 by a language-model judge", "",
             f"Judge `{judge}` (`analysis.cot_judge`) read each exported base sample and "
             "labelled its chain valid (every step right), invalid or unparsable (no "
             "`VERDICT: valid|invalid` line; left undecided). People's labels take precedence "
             "per RL model and benchmark.", ""]
    judged_rows = cot[cot["mode"] == "judged"] if "mode" in cot else cot.iloc[0:0]
    if judged_rows.empty:
        lines.append("C5 rows labelled by the judge: none (every C5 row is from people's "
                     "annotations).")
    else:
        names = ", ".join(f"{r.model} on {r.benchmark}" for r in judged_rows.itertuples())
        lines.append(f"**C5 rows labelled by the judge, not by people** (mode `judged`): "
                     f"{names}.")
    overall = summary[summary["benchmark"] == ALL]
    if overall.empty or int(overall["n_both"].iloc[0]) + int(
            overall["people_labelled_judge_unparsable"].iloc[0]) == 0:
        lines += ["", "Agreement with people: no sample was labelled by both."]
    else:
        o = overall.iloc[0]
        lines += ["", f"Agreement with people on the {int(o['n_both'])} samples both "
                  f"labelled: raw agreement {_share(o['raw_agreement'])} ({int(o['agree'])} of "
                  f"{int(o['n_both'])}), Cohen's kappa {_share(o['kappa'])}; "
                  f"{int(o['people_labelled_judge_unparsable'])} more samples people labelled "
                  "were unparsable for the judge (not counted)."]
    lines += ["", "| benchmark | judged | valid | invalid | unparsable | both labelled | "
              "raw agreement | kappa | people 1 / judge 1 | 1 / 0 | 0 / 1 | 0 / 0 |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples(index=False):
        lines.append(f"| {r.benchmark} | {r.n_judged} | {r.judge_valid} | {r.judge_invalid} | "
                     f"{r.judge_unparsable} | {r.n_both} | {_share(r.raw_agreement)} | "
                     f"{_share(r.kappa)} | {r.both_valid} | {r.people_valid_judge_invalid} | "
                     f"{r.people_invalid_judge_valid} | {r.both_invalid} |")
    return "\n".join(lines)
