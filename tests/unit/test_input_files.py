"""Input files: pinned ones checked for their sha256 before they are parsed, every file
parsed with errors naming the file (and line), unpinned ones checked for what can be
checked. The shipped inputs pass."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest

from rlvr_boundary.analyses.real_counts import (
    REAL_DEFAULTS,
    load_real_counts,
    math500_problem_ids,
    problem_file_checks,
    read_counts_csv,
)
from rlvr_boundary.sampling.benchmarks import (
    BenchmarkChanged,
    InputFileError,
    load_benchmark,
    read_jsonl,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REAL_DEFAULTS["benchmarks"]
PROBLEMS = REPO / REAL_DEFAULTS["problems"]
COUNTS = REPO / REAL_DEFAULTS["counts"]
MATH500_PIN = SHIPPED["math500"]["sha256"]


def _write(tmp_path: Path, data: bytes, name: str = "test.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _aime(tmp_path: Path, data: bytes, pinned: bool) -> dict:
    path = _write(tmp_path, data)
    spec = {"file": str(path), "format": "aime24"}
    return {**spec, "sha256": SHIPPED["aime24"]["sha256"]} if pinned else spec


def _aime_bytes() -> bytes:
    return (REPO / SHIPPED["aime24"]["file"]).read_bytes()


# --- the shipped inputs ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_benchmarks_pass(name):
    table, manifest = load_benchmark(name, SHIPPED[name], root=REPO)
    assert len(table) == SHIPPED[name]["expected_rows"] == manifest["rows"]


def test_shipped_real_counts_pass():
    checks = problem_file_checks({**REAL_DEFAULTS})
    assert checks == {"sha256": MATH500_PIN}  # the problem file is the pinned benchmark file
    ids = math500_problem_ids(PROBLEMS, 500, **checks)
    counts = load_real_counts(COUNTS, ids, "math500", 0.6, "paper_grader", 128)
    assert len(counts) == 1000 and counts.c.sum() == 39291 + 49877


def test_line_by_line_parsing_reads_what_the_old_reader_did():
    import json

    for spec in SHIPPED.values():
        data = (REPO / spec["file"]).read_bytes()
        old = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
        assert read_jsonl(spec["file"], data)[0] == old


# --- benchmark files: sha256 first, then line-by-line parsing -----------------------------


def test_a_truncated_pinned_file_is_a_changed_file_before_any_parse(tmp_path):
    data = _aime_bytes()
    spec = _aime(tmp_path, data[: len(data) // 2], pinned=True)
    with pytest.raises(BenchmarkChanged, match=rf"the data at {spec['file']} changed upstream"):
        load_benchmark("aime24", spec)


def test_a_non_utf8_pinned_file_is_a_changed_file(tmp_path):
    spec = _aime(tmp_path, _aime_bytes().replace(b"Every", b"\xff\xfeEvery", 1), pinned=True)
    with pytest.raises(BenchmarkChanged, match="changed upstream"):
        load_benchmark("aime24", spec)


def test_a_truncated_unpinned_file_names_its_last_line(tmp_path):
    data = _aime_bytes()
    lines = data.count(b"\n")
    spec = _aime(tmp_path, data[:-40], pinned=False)
    with pytest.raises(InputFileError, match=rf"^{spec['file']}, line {lines}: not valid JSON "
                       r"at column \d+: .*; the file looks truncated"):
        load_benchmark("aime24", spec)


def test_a_non_utf8_unpinned_file_names_the_line(tmp_path):
    data = _aime_bytes().split(b"\n")
    data[4] = data[4].replace(b"the", b"th\xe9", 1)  # Latin-1, not UTF-8
    spec = _aime(tmp_path, b"\n".join(data), pinned=False)
    with pytest.raises(InputFileError, match=rf"^{spec['file']}, line 5: not UTF-8 text "
                       r"\(byte 0xe9 at column \d+\)"):
        load_benchmark("aime24", spec)


@pytest.mark.parametrize("line, message", [
    (b"[1, 2]", r"line 3: a JSON list, not an object"),
    (b'{"problem": "p", "answer": "1", "id": 3', r"line 3: not valid JSON at column 40: Expecting ',' delimiter"),
    (b'{"problem": "p", "id": 99}', r"line 3: no question or no gold answer \(fields \['id', 'problem'\]\)"),
    (b'{"problem": "p", "answer": "1", "id": 60}', r"lines 1 and 3: problem id aime24/60 repeats"),
])
def test_a_broken_line_is_named(tmp_path, line, message):
    lines = _aime_bytes().split(b"\n")
    lines[2] = line
    data = b"\n".join(lines)
    spec = _aime(tmp_path, data, pinned=False)
    with pytest.raises(InputFileError, match=rf"^{spec['file']}, {message}"):
        load_benchmark("aime24", spec)
    # Pinned to its own (broken) bytes, the same error: the pin passes, then the parse fails.
    with pytest.raises(InputFileError, match=message):
        load_benchmark("aime24", {**spec, "sha256": hashlib.sha256(data).hexdigest()})


def test_an_unpinned_file_is_refused_only_once_it_parsed(tmp_path):
    spec = _aime(tmp_path, _aime_bytes(), pinned=False)
    with pytest.raises(BenchmarkChanged, match="no sha256 pinned .* pin sha256: "
                       + SHIPPED["aime24"]["sha256"]):
        load_benchmark("aime24", spec)


# --- the real counts' problem file: which line is which problem ----------------------------


def _swapped(data: bytes, a: int = 10, b: int = 11) -> bytes:
    lines = data.split(b"\n")
    lines[a], lines[b] = lines[b], lines[a]
    return b"\n".join(lines)


def test_two_swapped_lines_in_the_problem_file_are_refused(tmp_path):
    swapped = _write(tmp_path, _swapped(PROBLEMS.read_bytes()))
    # The problem file is the benchmark's pinned file: the pin catches the swap before parsing.
    with pytest.raises(BenchmarkChanged, match=rf"^{swapped}: sha256 .* pins {MATH500_PIN}"):
        math500_problem_ids(swapped, 500, sha256=MATH500_PIN)
    # Given as another, unpinned file: its ids are compared with the pinned file's, line by line.
    real = {**REAL_DEFAULTS, "problems": str(swapped)}
    checks = problem_file_checks(real)
    assert checks == {"order_from": SHIPPED["math500"]["file"], "order_sha256": MATH500_PIN}
    with pytest.raises(InputFileError, match=rf"^{swapped}, line 11: unique_id .* but line 11 "
                       r"of the pinned .* would map counts to the wrong problems"):
        math500_problem_ids(swapped, 500, **{**checks, "order_from": REPO / checks["order_from"]})
    # An unswapped copy elsewhere passes the same check.
    copy = _write(tmp_path, PROBLEMS.read_bytes(), "copy.jsonl")
    assert math500_problem_ids(copy, 500, order_from=PROBLEMS, order_sha256=MATH500_PIN) == \
        math500_problem_ids(PROBLEMS, 500)


def test_without_any_pin_the_order_is_not_checked():
    assert problem_file_checks({**REAL_DEFAULTS, "benchmarks": {}}) == {}
    unpinned = {"math500": {k: v for k, v in SHIPPED["math500"].items() if k != "sha256"}}
    assert problem_file_checks({**REAL_DEFAULTS, "benchmarks": unpinned}) == {}


@pytest.mark.parametrize("line, message", [
    (b'{"problem": "p", "answer": "1"}', r"line 3: no unique_id"),
    (b'{"unique_id": "test/precalculus/807.json"}', r"lines 1 and 3: unique_id test/precalculus/807.json repeats"),
    (b"\xff", r"line 3: not UTF-8 text"),
])
def test_a_broken_problem_file_line_is_named(tmp_path, line, message):
    lines = PROBLEMS.read_bytes().split(b"\n")
    lines[2] = line
    path = _write(tmp_path, b"\n".join(lines))
    with pytest.raises(InputFileError, match=rf"^{path}, {message}"):
        math500_problem_ids(path, 500)


# --- the real counts: integers within [0, n], one row per model and problem ---------------


def _counts_with(tmp_path: Path, edit) -> Path:
    rows = list(csv.reader(io.StringIO(COUNTS.read_text())))
    rows = edit(rows)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return _write(tmp_path, out.getvalue().encode(), "counts.csv")


def _set(row: int, column: int, value: str):
    def edit(rows):
        rows[row][column] = value
        return rows
    return edit


# Columns: problem_index, model, correct, n; row 1 is line 2 of the file.
@pytest.mark.parametrize("edit, message", [
    (_set(5, 2, "3.7"), r", line 6: correct '3.7' is not an integer"),
    (_set(5, 2, "nan"), r", line 6: correct 'nan' is not an integer"),
    (_set(5, 2, ""), r", line 6: correct '' is not an integer"),
    (_set(7, 3, "128.0"), r", line 8: n '128.0' is not an integer"),
    (_set(5, 2, "-1"), r", line 6: correct = -1 outside \[0, n = 128\]"),
    (_set(5, 2, "129"), r", line 6: correct = 129 outside \[0, n = 128\]"),
    (_set(5, 3, "64"), r", line 6: n = 64; n differs from 128"),
    (_set(5, 0, "500"), r", line 6: problem_index 500 outside 0..499"),
    (_set(5, 0, "x"), r", line 6: problem_index 'x' is not an integer"),
    (_set(5, 1, "rl"), r", line 6: unknown model 'rl'"),
    (_set(5, 0, "3"), r", lines 5 and 6: two rows for base, problem_index 3"),
    (lambda rows: rows[:5] + [rows[5][:3]] + rows[6:], r", line 6: 3 fields, expected 4"),
    (lambda rows: [rows[0]] + [r for r in rows[1:] if r[1] == "base"], r": no rows for models \['simplerl'\]"),
    (lambda rows: rows[:5] + rows[6:], r": base does not have exactly one row for each problem index 0..499: none for \[4\]"),
    (lambda rows: [["problem_index", "model", "c", "n"]] + rows[1:], r", line 1: columns"),
    (lambda rows: rows[:1], r": a header but no rows"),
    (lambda rows: [], r": empty file"),
])
def test_a_broken_counts_file_is_refused_naming_the_line(tmp_path, edit, message):
    path = _counts_with(tmp_path, edit)
    with pytest.raises(InputFileError, match=rf"^{path}{message}"):
        read_counts_csv(path, 500, 128)
    with pytest.raises(ValueError):  # as the import job calls it
        load_real_counts(path, math500_problem_ids(PROBLEMS, 500), "math500", 0.6, "g", 128)


def test_a_non_utf8_counts_file_names_the_line(tmp_path):
    data = COUNTS.read_bytes().split(b"\n")
    data[9] = data[9] + b"\xff"
    path = _write(tmp_path, b"\n".join(data), "counts.csv")
    with pytest.raises(InputFileError, match=rf"^{path}, line 10: not UTF-8 text"):
        read_counts_csv(path, 500, 128)


def test_row_order_in_the_counts_file_does_not_matter(tmp_path):
    ids = math500_problem_ids(PROBLEMS, 500)
    shuffled = _counts_with(tmp_path, lambda rows: [rows[0], *reversed(rows[1:])])
    a = load_real_counts(COUNTS, ids, "math500", 0.6, "g", 128)
    b = load_real_counts(shuffled, ids, "math500", 0.6, "g", 128)
    assert a.equals(b)
