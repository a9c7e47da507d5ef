"""The tiny world's graders on hand-made correct and broken traces."""

from __future__ import annotations

import numpy as np
import pytest

from rlvr_boundary.world.task import (N_FACTS, Problem, World, fact_index, grade_answer, grade_trace,
                                parse_prompt, random_problem)

PROBLEM = Problem(4, (("+", 3), ("*", 2), ("-", 5)))  # 4+3=7, 7*2=4, 4-5=9


def test_problem_text():
    assert PROBLEM.prompt == "4+3*2-5="
    assert PROBLEM.values() == [7, 4, 9]
    assert PROBLEM.completion() == "+3=7*2=4-5=9|9"
    assert parse_prompt(PROBLEM.prompt) == PROBLEM


@pytest.mark.parametrize("completion, finish, trace, answer", [
    ("+3=7*2=4-5=9|9", "stop", "correct", "correct"),
    ("+3=7*2=5-5=0|9", "stop", "wrong", "correct"),      # wrong chain, lucky answer
    ("+3=7*2=4-5=9|8", "stop", "wrong", "wrong"),        # right chain, wrong answer
    ("+3=7*2=4|4", "stop", "wrong", "wrong"),            # a step skipped
    ("+3=7*3=1-5=6|6", "stop", "wrong", "wrong"),        # operand miscopied
    ("-3=1*2=2-5=7|9", "stop", "wrong", "correct"),      # operator miscopied
    ("+3=7*2=4-5=9", "stop", "unparsable", "unparsable"),  # no final answer
    ("+3=7*2=4-5=9|9|9", "stop", "unparsable", "correct"),
    ("", "stop", "unparsable", "unparsable"),
    ("+3=7*2=4-5=9|9", "length", "truncated", "truncated"),
    ("+3=7*2=4-5=", "length", "truncated", "truncated"),
])
def test_graders_on_hand_made_traces(completion, finish, trace, answer):
    assert grade_trace(PROBLEM, completion, finish) == trace
    assert grade_answer(PROBLEM, completion, finish) == answer


def test_parse_prompt_rejects_junk():
    with pytest.raises(ValueError):
        parse_prompt("4+3*")


def test_world_noise_keeps_rare_facts_rare():
    rng = np.random.default_rng(0)
    world = World.generate(rng, rare_fact_share=0.3, rare_wrong_rate=(0.9, 0.995),
                           step_error_rate=0.0)
    rare = [f for f in range(N_FACTS) if world.rare_wrong_value[f] >= 0]
    assert len(rare) == 90
    # A one-step problem on a rare fact is written wrong 90-99.5% of the time.
    fact = rare[0]
    value, operator, operand = fact // 30, "+-*"[(fact // 10) % 3], fact % 10
    assert fact_index(value, operator, operand) == fact
    problem = Problem(value, ((operator, operand),))
    right = sum(grade_trace(problem, world.noisy_completion(problem, rng), "stop") == "correct"
                for _ in range(4000))
    assert 0 < right < 0.1 * 4000
    assert World.from_dict(world.to_dict()) == world


def test_clean_world_traces_are_correct():
    rng = np.random.default_rng(1)
    world = World.generate(rng, 0.0, (0.9, 0.995), 0.0)
    for depth in range(1, 7):
        problem = random_problem(rng, depth)
        assert grade_trace(problem, world.noisy_completion(problem, rng), "stop") == "correct"
