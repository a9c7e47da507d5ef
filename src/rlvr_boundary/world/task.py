"""The tiny world: chains of modular-arithmetic steps with a checkable chain of thought.

A problem is a start value and a list of steps, written as a prompt such as
``4+3*2-5=``. A worked answer (the completion) writes every intermediate value and then
the final answer after ``|``: ``+3=7*2=4-5=9|9``. Values live modulo 10, so the whole
world has 300 "facts" (value, operator, operand) -> value.

Two things make the world a useful stand-in for LLM reasoning:
- every step is checkable, so a sample is scored on its whole trace (``trace``) as well as
  on its final answer alone (``answer``); with only 10 possible answers, guessing gets
  ~10% per sample, which is why the claims use ``trace``;
- the base model's corpus is noisy in a structured way (:class:`World`): some facts are
  "rare" - written with a fixed wrong value most of the time - so the right path is in the
  base model's distribution but seldom sampled, like a hard reasoning step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

MODULUS = 10
OPERATORS = ("+", "-", "*")
ANSWER_SEPARATOR = "|"
N_FACTS = MODULUS * len(OPERATORS) * MODULUS

# The closed set of grade statuses, shared by every grader and metric.
GRADE_STATUSES = ("correct", "wrong", "unparsable", "truncated", "timeout")

_COMPLETION = re.compile(r"^((?:[+\-*]\d=\d)+)\|(\d)$")
_STEP = re.compile(r"([+\-*])(\d)=(\d)")
_FINAL_ANSWER = re.compile(r"\|(\d)$")
_PROMPT = re.compile(r"^(\d)((?:[+\-*]\d)+)=$")


def apply_step(value: int, operator: str, operand: int) -> int:
    if operator == "+":
        return (value + operand) % MODULUS
    if operator == "-":
        return (value - operand) % MODULUS
    if operator == "*":
        return (value * operand) % MODULUS
    raise ValueError(f"unknown operator {operator!r}")


def fact_index(value: int, operator: str, operand: int) -> int:
    """Position of a fact in 0..N_FACTS-1 (used to index the world's tables)."""
    return (value * len(OPERATORS) + OPERATORS.index(operator)) * MODULUS + operand


@dataclass(frozen=True)
class Problem:
    start: int
    steps: tuple[tuple[str, int], ...]

    @property
    def depth(self) -> int:
        return len(self.steps)

    @property
    def prompt(self) -> str:
        return f"{self.start}" + "".join(f"{op}{x}" for op, x in self.steps) + "="

    def values(self) -> list[int]:
        """The correct intermediate values, one per step (the last is the answer)."""
        values, value = [], self.start
        for operator, operand in self.steps:
            value = apply_step(value, operator, operand)
            values.append(value)
        return values

    @property
    def answer(self) -> int:
        return self.values()[-1]

    def completion(self, values: list[int] | None = None) -> str:
        """The worked answer writing ``values`` (default: the correct ones)."""
        values = self.values() if values is None else values
        steps = "".join(f"{op}{x}={v}" for (op, x), v in zip(self.steps, values))
        return f"{steps}{ANSWER_SEPARATOR}{values[-1]}"


def parse_prompt(prompt: str) -> Problem:
    match = _PROMPT.match(prompt)
    if match is None:
        raise ValueError(f"not a tiny-world prompt: {prompt!r}")
    steps = tuple((op, int(x)) for op, x in re.findall(r"([+\-*])(\d)", match.group(2)))
    return Problem(int(match.group(1)), steps)


def random_problem(rng: np.random.Generator, depth: int) -> Problem:
    start = int(rng.integers(MODULUS))
    operators = rng.integers(len(OPERATORS), size=depth)
    operands = rng.integers(MODULUS, size=depth)
    return Problem(start, tuple((OPERATORS[o], int(x)) for o, x in zip(operators, operands)))


@dataclass(frozen=True)
class World:
    """How the base model's corpus gets steps wrong.

    ``rare_wrong_value[f]`` is the fixed wrong value written for rare fact ``f`` (-1 for a
    common fact) and ``rare_wrong_rate[f]`` how often it is written instead of the truth.
    Any step is also wrong at random with ``step_error_rate``; errors propagate, since the
    next step starts from the value written.
    """

    rare_wrong_value: tuple[int, ...]
    rare_wrong_rate: tuple[float, ...]
    step_error_rate: float

    @classmethod
    def generate(cls, rng: np.random.Generator, rare_fact_share: float,
                 rare_wrong_rate: tuple[float, float], step_error_rate: float) -> "World":
        n_rare = int(round(rare_fact_share * N_FACTS))
        rare = set(rng.choice(N_FACTS, size=n_rare, replace=False).tolist())
        wrong_values, wrong_rates = [], []
        for fact in range(N_FACTS):
            if fact in rare:
                truth = _fact_value(fact)
                wrong = int(rng.integers(MODULUS - 1))
                wrong_values.append(wrong + (wrong >= truth))  # any value but the truth
                wrong_rates.append(float(rng.uniform(*rare_wrong_rate)))
            else:
                wrong_values.append(-1)
                wrong_rates.append(0.0)
        return cls(tuple(wrong_values), tuple(wrong_rates), step_error_rate)

    def to_dict(self) -> dict:
        return {"rare_wrong_value": list(self.rare_wrong_value),
                "rare_wrong_rate": list(self.rare_wrong_rate),
                "step_error_rate": self.step_error_rate}

    @classmethod
    def from_dict(cls, data: dict) -> "World":
        return cls(tuple(data["rare_wrong_value"]), tuple(data["rare_wrong_rate"]),
                   float(data["step_error_rate"]))

    def with_rare_wrong_rates(self, low: float, high: float) -> "World":
        """The same rare facts and wrong values, with their rates mapped linearly from
        this world's range onto [low, high] - so only how rare the right value is changes."""
        rare = [r for v, r in zip(self.rare_wrong_value, self.rare_wrong_rate) if v >= 0]
        old_low, old_high = (min(rare), max(rare)) if rare else (0.0, 0.0)
        span = old_high - old_low

        def mapped(rate: float) -> float:
            share = (rate - old_low) / span if span > 0 else 0.5
            return low + share * (high - low)

        rates = tuple(mapped(r) if v >= 0 else 0.0
                      for v, r in zip(self.rare_wrong_value, self.rare_wrong_rate))
        return World(self.rare_wrong_value, rates, self.step_error_rate)

    def noisy_completion(self, problem: Problem, rng: np.random.Generator) -> str:
        """One corpus trace for ``problem``: right most of the time, wrong in the world's ways."""
        values, value = [], problem.start
        for operator, operand in problem.steps:
            fact = fact_index(value, operator, operand)
            value = apply_step(value, operator, operand)
            if self.rare_wrong_value[fact] >= 0 and rng.random() < self.rare_wrong_rate[fact]:
                value = self.rare_wrong_value[fact]
            elif rng.random() < self.step_error_rate:
                value = (value + int(rng.integers(1, MODULUS))) % MODULUS
            values.append(value)
        return problem.completion(values)


def _fact_value(fact: int) -> int:
    operand = fact % MODULUS
    operator = OPERATORS[(fact // MODULUS) % len(OPERATORS)]
    value = fact // (MODULUS * len(OPERATORS))
    return apply_step(value, operator, operand)


def grade_trace(problem: Problem, completion: str, finish_reason: str) -> str:
    """``correct`` only when every step copies the prompt and every value is right."""
    if finish_reason == "length":
        return "truncated"
    match = _COMPLETION.match(completion)
    if match is None:
        return "unparsable"
    steps = [(op, int(x), int(v)) for op, x, v in _STEP.findall(match.group(1))]
    expected = [(op, x, v) for (op, x), v in zip(problem.steps, problem.values())]
    if steps == expected and int(match.group(2)) == problem.answer:
        return "correct"
    return "wrong"


def grade_answer(problem: Problem, completion: str, finish_reason: str) -> str:
    """Final answer only: the digit after the last ``|``, whatever the steps say."""
    if finish_reason == "length":
        return "truncated"
    match = _FINAL_ANSWER.search(completion)
    if match is None:
        return "unparsable"
    return "correct" if int(match.group(1)) == problem.answer else "wrong"


GRADERS = {"trace": grade_trace, "answer": grade_answer}

