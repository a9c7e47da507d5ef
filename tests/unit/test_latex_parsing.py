"""Two-stage LaTeX parsing gives math-verify exactly what latex2sympy's LL parsing gives."""

import re
from pathlib import Path

import pandas as pd
import pytest
from antlr4.atn.PredictionMode import PredictionMode
from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy, latex2sympy
from math_verify import parse
from math_verify.parser import parse_latex_cached

from rlvr_boundary.sampling.benchmarks import load_benchmark
from rlvr_boundary.grading.latex_parsing import use_two_stage_parsing
from rlvr_boundary.analyses.real_counts import REAL_DEFAULTS

REPO = Path(__file__).resolve().parents[2]
NEEDS_LL = "x^3+3x-6"  # valid, but SLL prediction reports a syntax error on it


@pytest.fixture
def ll_then_two_stage():
    """Calls f under LL parsing, then under two-stage parsing (math-verify's parse cache
    cleared before each, so the second really parses); restores two-stage after."""
    def both(f):
        use_two_stage_parsing(False)
        parse_latex_cached.cache_clear()
        try:
            ll = f()
        finally:
            use_two_stage_parsing()
        parse_latex_cached.cache_clear()
        return ll, f()
    yield both
    use_two_stage_parsing()


def _texts() -> list[str]:
    """Gold answers of MATH500, Minerva and AIME24 and some of MATH500's solution math."""
    texts, snippets = [], []
    for name in ("math500", "minerva_math", "aime24"):
        table = load_benchmark(name, REAL_DEFAULTS["benchmarks"][name], root=REPO)[0]
        texts += [f"$\\boxed{{{answer}}}$" for answer in table.reference_answer]
    math500 = REPO / REAL_DEFAULTS["benchmarks"]["math500"]["file"]
    for solution in pd.read_json(math500, lines=True).solution[::5]:
        snippets += re.findall(r"\$([^$]{1,120})\$", solution)
    return texts + [f"${s}$" for s in snippets[::3]] + [f"${NEEDS_LL}$", "$\\frac{1}{$", "$)($"]


def _outcome(text: str) -> str:
    try:
        return str(parse(text, parsing_timeout=None))
    except Exception as error:  # noqa: BLE001 - the error is part of the outcome
        return f"{type(error).__name__}: {error}"


def test_math_verify_parses_real_math_the_same(ll_then_two_stage):
    texts = _texts()
    assert len(texts) > 1000
    ll, two_stage = ll_then_two_stage(lambda: [_outcome(t) for t in texts])
    assert two_stage == ll
    assert sum(o == "[]" for o in ll) < len(texts) // 10  # the texts mostly parse


def test_input_sll_cannot_parse_is_parsed_by_ll(ll_then_two_stage):
    sll_only = _Latex2Sympy().create_parser(NEEDS_LL)  # two-stage is on: strip its LL retry
    sll_only._interp.predictionMode = PredictionMode.SLL
    with pytest.raises(Exception, match="expected"):
        type(sll_only).math(sll_only)
    ll, two_stage = ll_then_two_stage(lambda: str(latex2sympy(NEEDS_LL)))
    assert two_stage == ll == "x**3 + 3*x - 6"


def test_syntax_errors_are_ll_errors(ll_then_two_stage):
    def error():
        with pytest.raises(Exception) as caught:
            latex2sympy("\\frac{1}{")
        return str(caught.value)
    ll, two_stage = ll_then_two_stage(error)
    assert two_stage == ll


def test_switching_off_restores_latex2sympys_parser():
    use_two_stage_parsing(False)
    try:
        assert _Latex2Sympy.create_parser.__module__.startswith("latex2sympy2_extended")
    finally:
        use_two_stage_parsing()
    assert _Latex2Sympy.create_parser.__module__ == "rlvr_boundary.grading.latex_parsing"
