"""Real math benchmarks, normalised to one schema: problem_id, question, reference_answer, source.

The paper's evaluation code ships its benchmark files with different field names, and
some carry the gold answer only inside the solution: Minerva in the last ``\\boxed{}``,
GSM8K after ``####``. Each format below says where the id, the question and the answer
are. Files come from a local path or from the Hugging Face Hub through ``datasets`` at a
pinned revision. Either way the raw data are fingerprinted (sha256) and checked against
the sha256 pinned in the config, so a changed upstream file stops the run instead of
silently changing the study; the normalised file's own sha256 is recorded next to it, and
checked by every job that reads the file (:func:`read_normalised`).
A local file's bytes are checked before they are parsed (a truncated or re-encoded file is
a changed file, whatever it would parse to), then parsed line by line: every error names
the file and line (:class:`InputFileError`).

The question is stored without any prompt template: the template depends on the model
(each model is prompted with its own training prompt), see :func:`apply_template`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

BENCHMARK_COLUMNS = ["problem_id", "question", "reference_answer", "source"]


class BenchmarkChanged(ValueError):
    """The raw benchmark data differ from the pinned sha256."""


class InputFileError(ValueError):
    """An input file that is not what it should be: the message starts with the file and,
    where one is to blame, ``line N``."""


@dataclass(frozen=True)
class Format:
    """Where a file format keeps the id, the question and the gold answer.

    ``answer`` names a field; ``answer_from`` is how to get the answer out of it:
    ``field`` (as is), ``boxed`` (the last ``\\boxed{}`` of a worked solution), ``hash``
    (the text after ``####``, thousands separators dropped) or ``first`` (first item of a
    list). ``id`` None means the 0-based line number.
    """

    question: str
    answer: str
    answer_from: str = "field"
    id: str | None = None


FORMATS = {
    # LeapLabTHU/limit-of-RLVR math_eval/data/<name>/test.jsonl (the Qwen2.5-Math toolkit)
    "math500": Format(question="problem", answer="answer", id="unique_id"),
    "gsm8k": Format(question="question", answer="answer", answer_from="hash", id="idx"),
    "minerva_math": Format(question="problem", answer="solution", answer_from="boxed", id="idx"),
    "aime24": Format(question="problem", answer="answer", id="id"),
    "amc23": Format(question="question", answer="answer", id="id"),
    "olympiadbench": Format(question="question", answer="final_answer", answer_from="first", id="id"),
    # Public copies with {problem, answer} lines (data/math_eval/SOURCE.md); id = line number
    "problem_answer": Format(question="problem", answer="answer"),
    # Hub datasets: openai/gsm8k (no id field) and HuggingFaceH4/MATH-500
    "hub_gsm8k": Format(question="question", answer="answer", answer_from="hash"),
    "hub_math500": Format(question="problem", answer="answer", id="unique_id"),
}


_COMMIT = re.compile(r"[0-9a-f]{40}")
_BOX = re.compile(r"\\(?:boxed|fbox)")


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` or ``\\fbox{...}`` (nested braces kept), else None.
    The bare form ``\\boxed 5`` gives the token after the space."""
    for match in reversed(list(_BOX.finditer(text))):
        rest = text[match.end():]
        if rest[:1] == " " and rest[1:2] not in ("", "{", " "):
            return rest[1:].split("$", 1)[0].split()[0]
        stripped = rest.lstrip()
        if not stripped.startswith("{"):
            continue
        depth = 0
        for end, char in enumerate(stripped):
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth == 0:
                return stripped[1:end].strip() or None
        return None  # unbalanced: the box never closes
    return None


def after_hash(text: str) -> str | None:
    """GSM8K's answer: what follows the last ``####``, without thousands separators."""
    if "####" not in text:
        return None
    return text.rsplit("####", 1)[1].strip().replace(",", "")


def _answer(record: dict, fmt: Format) -> str | None:
    value = record.get(fmt.answer)
    if value is None:
        return None
    if fmt.answer_from == "boxed":
        return last_boxed(str(value))
    if fmt.answer_from == "hash":
        return after_hash(str(value))
    if fmt.answer_from == "first":
        return str(value[0]) if isinstance(value, list) and value else None
    return str(value).strip()


def normalise(records: list[dict], name: str, fmt: Format, source: str,
              where: str | None = None, lines: list[int] | None = None) -> pd.DataFrame:
    """One row per problem in BENCHMARK_COLUMNS; refuses missing questions or answers and
    repeated ids. ``where`` and ``lines`` (the file and each record's line in it, from
    :func:`read_jsonl`) put the file and line into every error."""

    def line_of(index: int) -> int:
        return lines[index] if lines else index + 1

    def at(index: int) -> str:
        return f"{name}: record {index}" if where is None else f"{where}, line {line_of(index)}"

    rows = []
    for line, record in enumerate(records):
        question = record.get(fmt.question)
        answer = _answer(record, fmt)
        if not question or not answer:
            raise InputFileError(f"{at(line)}: no question or no gold answer "
                                 f"(fields {sorted(record)})")
        problem_id = _problem_id(name, line, None if fmt.id is None else record.get(fmt.id))
        rows.append((problem_id, str(question), answer, source))
    table = pd.DataFrame(rows, columns=BENCHMARK_COLUMNS)
    repeated = table.problem_id.duplicated(keep=False)
    if repeated.any():
        first = table.problem_id[repeated].iloc[0]
        both = [i for i in range(len(table)) if table.problem_id.iat[i] == first][:2]
        if where is None:
            raise InputFileError(f"{name}: problem ids repeat, e.g. {first}")
        raise InputFileError(f"{where}, lines {line_of(both[0])} and {line_of(both[1])}: "
                             f"problem id {first} repeats (problem ids repeat)")
    return table


def _problem_id(name: str, line: int, value) -> str:
    """A string id unique across benchmarks: ``<name>/<id>`` for numeric ids (and the line
    number when a format has none); string ids (MATH500's unique_id) are kept as they are,
    since the real counts join on them."""
    if value is None:
        return f"{name}/{line}"
    return str(value) if isinstance(value, str) else f"{name}/{value}"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_jsonl(records: list[dict]) -> bytes:
    """Records as sorted-key JSON lines: a fingerprint independent of how they were stored."""
    return "".join(json.dumps(r, sort_keys=True, ensure_ascii=False, default=str) + "\n"
                   for r in records).encode("utf-8")


def check_pin(name: str, actual: str, pinned: str | None, where: str) -> None:
    """Stop when the raw data changed; a missing pin is refused too (nothing unpinned runs)."""
    if not pinned:
        raise BenchmarkChanged(f"{name}: no sha256 pinned in the config for {where}; "
                               f"pin sha256: {actual} after checking the data")
    if actual != pinned:
        raise BenchmarkChanged(
            f"{name}: the data at {where} changed upstream: sha256 {actual}, the config pins "
            f"{pinned}. Check what changed; if the new data are intended, pin the new hash "
            "(results computed on the old data no longer match).")


def read_jsonl(path: str | Path, data: bytes | None = None) -> tuple[list[dict], list[int]]:
    """Records of a JSON-lines file (``data``: its bytes, when already read) and the 1-based
    line of each; blank lines skipped. Parsed line by line, so a line that is not UTF-8,
    not JSON or not one JSON object stops with ``<file>, line N: ...``."""
    if data is None:
        data = Path(path).read_bytes()
    records, lines = [], []
    parts = data.split(b"\n")
    for number, raw in enumerate(parts, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputFileError(
                f"{path}, line {number}: not UTF-8 text (byte 0x{raw[error.start]:02x} at "
                f"column {error.start + 1}); the file is damaged or in another encoding") from None
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            # The last line, cut off before its newline: what a truncated copy looks like.
            truncated = "; the file looks truncated" if number == len(parts) else ""
            raise InputFileError(f"{path}, line {number}: not valid JSON at column "
                                 f"{error.colno}: {error.msg}{truncated}") from None
        if not isinstance(record, dict):
            raise InputFileError(f"{path}, line {number}: a JSON {type(record).__name__}, "
                                 "not an object (one object per line)")
        records.append(record)
        lines.append(number)
    return records, lines


def load_local(path: str | Path) -> tuple[list[dict], str]:
    """Records of a JSON-lines file and the sha256 of the file's bytes (parse errors name
    the file and line: :func:`read_jsonl`)."""
    data = Path(path).read_bytes()
    return read_jsonl(path, data)[0], sha256_bytes(data)


def load_hub(repo: str, revision: str, split: str, subset: str | None = None,
             cache_dir: str | None = None) -> tuple[list[dict], str]:
    """Records of a Hub dataset at a pinned revision (a commit hash, not a branch) and the
    sha256 of their canonical JSON lines. ``repo`` may also be a local folder in Hub layout."""
    import datasets

    if not revision or not _COMMIT.fullmatch(revision):
        raise ValueError(f"{repo}: a Hub dataset needs a pinned revision (a 40-hex commit "
                         f"hash, not a branch or tag), got {revision!r}")
    dataset = datasets.load_dataset(repo, subset, split=split, revision=revision,
                                    cache_dir=cache_dir)
    records = [dict(row) for row in dataset]
    return records, sha256_bytes(canonical_jsonl(records))


def load_benchmark(name: str, spec: dict, root: str | Path = ".",
                   file: str | Path | None = None) -> tuple[pd.DataFrame, dict]:
    """Load, check and normalise one benchmark from its config entry.

    spec: ``format`` (a key of FORMATS), ``sha256`` (pinned raw-data hash) and either
    ``file`` (a JSON-lines path relative to ``root``; ``file=`` gives where it is instead)
    or ``hub: {repo, revision, split, subset}``; optional ``expected_rows``. Returns the
    table and a manifest.
    """
    fmt = FORMATS[spec.get("format", name)]
    lines, in_file = None, None
    if "file" in spec:
        # The bytes are checked before they are parsed: a damaged file is a changed file.
        in_file = Path(file) if file else Path(root) / spec["file"]
        data = in_file.read_bytes()
        digest = sha256_bytes(data)
        where, origin = spec["file"], f"file sha256:{digest}"
        if spec.get("sha256"):
            check_pin(name, digest, spec["sha256"], where)
        records, lines = read_jsonl(in_file, data)
    elif "hub" in spec:
        hub = spec["hub"]
        records, digest = load_hub(hub["repo"], hub.get("revision"), hub.get("split", "test"),
                                   hub.get("subset"))
        where, origin = f"{hub['repo']}@{hub.get('revision')}", f"hub {hub['repo']}@{hub.get('revision')}"
    else:
        raise ValueError(f"{name}: a benchmark needs `file` or `hub`")
    if spec.get("sha256"):
        check_pin(name, digest, spec["sha256"], where)
    table = normalise(records, name, fmt, f"{name} ({origin})",
                      None if in_file is None else str(in_file), lines)
    expected = spec.get("expected_rows")
    if expected is not None and len(table) != expected:
        raise ValueError(f"{name} ({where}): {len(table)} problems, the config expects {expected}")
    # Unpinned data are refused only once they parsed and normalised: a broken file is never
    # offered for pinning.
    check_pin(name, digest, spec.get("sha256"), where)
    manifest = {"benchmark": name, "origin": origin, "source_sha256": digest, "rows": len(table)}
    return table, manifest


def write_normalised(table: pd.DataFrame, manifest: dict, problems_path: str | Path,
                     manifest_path: str | Path) -> dict:
    """Write the table as JSON lines (byte-stable) and the manifest with its sha256."""
    data = canonical_jsonl(table.to_dict(orient="records"))
    Path(problems_path).parent.mkdir(parents=True, exist_ok=True)
    Path(problems_path).write_bytes(data)
    manifest = {**manifest, "normalised_sha256": sha256_bytes(data)}
    Path(manifest_path).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_normalised(path: str | Path) -> pd.DataFrame:
    """A normalised benchmark file back as a table (ids stay strings), its bytes first
    checked against the ``normalised_sha256`` of the ``manifest.json`` beside it
    (:func:`write_normalised`; :mod:`rlvr_boundary.workflow.recorded`)."""
    from ..workflow.recorded import read_checked

    manifest = Path(path).with_name("manifest.json")
    try:
        expected = json.loads(manifest.read_text(encoding="utf-8")).get("normalised_sha256")
        where = str(manifest) if expected else f"{manifest} has no normalised_sha256"
    except FileNotFoundError:
        expected, where = None, f"{manifest} is missing"
    except (ValueError, AttributeError):
        expected, where = None, f"{manifest} is not a JSON object"
    data = read_checked(path, expected, where)
    return pd.read_json(io.BytesIO(data), lines=True,
                        dtype={"problem_id": str, "reference_answer": str})


def apply_template(template: str, question: str) -> str:
    """The model's prompt for a question: ``template`` with ``{question}`` filled in
    (str.replace, so LaTeX braces in the question are safe)."""
    if "{question}" not in template:
        raise ValueError("a prompt template must contain {question}")
    return template.replace("{question}", question)
