"""Scoring responses: log-probs against hand computations, batching invariance, eos, entropy,
the perplexity table's matched lengths, prompts per response set, real-format (Hub)
checkpoints and their rule script, the C3 shift CI, entropy matching and the figure."""

from __future__ import annotations

import json
import logging
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from rlvr_boundary.sampling.benchmarks import apply_template, write_normalised
from rlvr_boundary.world.data import draw_problems, problems_frame
from rlvr_boundary.models.modeling import load_checkpoint, save_checkpoint
from tiny_models import ARCH, tiny_world_model
from rlvr_boundary.stats.passk import bootstrap_weights
from rlvr_boundary.analyses.perplexity import (PERPLEXITY_COLUMNS, TokenLogprobs, completion_logprobs,
                                      match_entropy, perplexity_shift, perplexity_table,
                                      pooled_entropy, select_samples, token_entropy,
                                      _same_length_batches, batch_size_param)
from rlvr_boundary.workflow.job_io import write_csv
from rlvr_boundary.report.perplexity_plots import plot_perplexity_distributions
from rlvr_boundary.report.plots import save_figure
from rlvr_boundary.training.pretrain import pretrain
from rlvr_boundary.sampling.generate import greedy_completions
from rlvr_boundary.world.tokenizer import ALPHABET
from tiny_hub import save_in_cache

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
COMMIT = "0123456789abcdef0123456789abcdef01234567"

PROMPTS = ["4+3*2-5=", "7-1=", "2*9+9+1*3-4=", "0+0=", "5*5=", "1-2+3=", "9="]
COMPLETIONS = ["+3=7*2=4-5=9|9", "-1=6|6", "*9=8+9=7", "", "*5=5|5", "-2=9+3=2|2", "|9"]
FINISH = ["stop", "stop", "length", "stop", "length", "stop", "stop"]


# One torch thread for every test here (tests/unit/conftest.py says why).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model_and_tokenizer(one_thread):
    return tiny_world_model()


def reference_logprobs(model, tokenizer, prompt: str, completion: str, finish: str) -> np.ndarray:
    """One unpadded sequence through the model's plain forward: log_softmax, then gather."""
    vocab = tokenizer.get_vocab()
    prompt_ids = [tokenizer.bos_token_id] + [vocab[c] for c in prompt]
    scored = [vocab[c] for c in completion] + ([tokenizer.eos_token_id] if finish == "stop" else [])
    ids = torch.tensor([prompt_ids + scored])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(input_ids=ids).logits[0].double(), dim=-1)
    return np.array([logprobs[len(prompt_ids) - 1 + t, token].item() for t, token in enumerate(scored)])


# --- log-probs ---------------------------------------------------------------------------------

def test_matches_plain_per_sequence_forward(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    scores = completion_logprobs(model, tokenizer, PROMPTS, COMPLETIONS, FINISH, batch_size=4)
    for i, (p, c, f) in enumerate(zip(PROMPTS, COMPLETIONS, FINISH)):
        expected = reference_logprobs(model, tokenizer, p, c, f)
        assert scores.n_tokens[i] == len(c) + (f == "stop")
        np.testing.assert_allclose(scores.logprobs[i, :len(expected)], expected, atol=1e-5)
        assert (scores.logprobs[i, len(expected):] == 0).all()
        assert scores.sum_logprob()[i] == pytest.approx(expected.sum(), abs=1e-5)
    frame = scores.frame()
    assert list(frame.columns) == ["sum_logprob", "n_tokens", "mean_logprob"]
    np.testing.assert_allclose(frame.mean_logprob, frame.sum_logprob / frame.n_tokens)


def test_known_weights_bigram_model():
    """One layer whose attention and MLP write nothing (o_proj = down_proj = 0): the logits
    are RMSNorm(embedding) @ embedding^T (tied), a bigram model computable by hand."""
    model, tokenizer = tiny_world_model(seed=3, arch={**ARCH, "num_hidden_layers": 1})
    layer = model.model.layers[0]
    with torch.no_grad():
        layer.self_attn.o_proj.weight.zero_()
        layer.mlp.down_proj.weight.zero_()
        model.model.norm.weight.copy_(torch.linspace(0.5, 1.5, ARCH["hidden_size"]))
    emb = model.model.embed_tokens.weight.detach().double().numpy()
    gain = model.model.norm.weight.detach().double().numpy()
    eps = model.config.rms_norm_eps

    def log_loss(previous: int, token: int) -> float:
        h = emb[previous]
        logits = (h / np.sqrt(np.mean(h * h) + eps) * gain) @ emb.T
        return logits[token] - np.log(np.exp(logits - logits.max()).sum()) - logits.max()

    vocab = tokenizer.get_vocab()
    scores = completion_logprobs(model, tokenizer, PROMPTS, COMPLETIONS, FINISH, batch_size=3)
    for i, (p, c, f) in enumerate(zip(PROMPTS, COMPLETIONS, FINISH)):
        ids = [tokenizer.bos_token_id] + [vocab[ch] for ch in p + c]
        ids += [tokenizer.eos_token_id] if f == "stop" else []
        expected = [log_loss(ids[t - 1], ids[t]) for t in range(len(p) + 1, len(ids))]
        np.testing.assert_allclose(scores.logprobs[i, :len(expected)], expected, atol=1e-5)


def test_repeated_sequences_are_scored_once_and_mapped_back(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    order = [2, 0, 2, 5, 0, 0]
    args = [[PROMPTS[i] for i in order], [COMPLETIONS[i] for i in order], [FINISH[i] for i in order]]
    scores = completion_logprobs(model, tokenizer, *args, batch_size=2)
    entropy = token_entropy(model, tokenizer, *args, temperature=1.0, batch_size=2)
    for row, i in enumerate(order):
        expected = reference_logprobs(model, tokenizer, PROMPTS[i], COMPLETIONS[i], FINISH[i])
        assert scores.n_tokens[row] == entropy.n_tokens[row] == len(expected)
        assert scores.sum_logprob()[row] == pytest.approx(expected.sum(), abs=1e-5)
    assert entropy.entropy_sum[0] == entropy.entropy_sum[2] != entropy.entropy_sum[1]


def _varied_sequences(n: int, seed: int = 0):
    """n sequences of many lengths, stopped and truncated."""
    rng = np.random.default_rng(seed)
    prompts = [PROMPTS[i] for i in rng.integers(len(PROMPTS), size=n)]
    completions = ["".join(rng.choice(list(ALPHABET), size=int(rng.integers(0, 20)))) for _ in range(n)]
    finish = [["stop", "length"][i] for i in rng.integers(2, size=n)]
    finish = [f if c or f == "stop" else "stop" for c, f in zip(completions, finish)]
    return prompts, completions, finish


def test_batch_size_changes_no_score_bit_on_a_cpu(model_and_tokenizer):
    """One length per batch, nothing padded: on a CPU in float32 the same bits whatever the
    batch size (padded batches moved log-probs by up to ~1e-6 here), so batch_size is no
    param of a scoring job there (batch_size_param)."""
    model, tokenizer = model_and_tokenizer
    n = 23
    prompts, completions, finish = _varied_sequences(n)
    runs = [completion_logprobs(model, tokenizer, prompts, completions, finish, batch_size=b)
            for b in (1, 2, 7, n, 256)]
    entropies = [token_entropy(model, tokenizer, prompts, completions, finish, 0.8, 0.95, b)
                 for b in (1, 7, 256)]
    for other in runs[1:]:
        np.testing.assert_array_equal(other.n_tokens, runs[0].n_tokens)
        assert other.logprobs.tobytes() == runs[0].logprobs.tobytes()
    for other in entropies[1:]:
        pd.testing.assert_frame_equal(other, entropies[0], check_exact=True)
    # Sequences of other lengths in the batch (once padding) leave the others' scores alone.
    more = completion_logprobs(model, tokenizer, prompts + ["1+1+1+1+1+1="],
                               completions + ["+1=2" * 7], finish + ["length"], batch_size=n + 1)
    assert more.logprobs[:n, :runs[0].logprobs.shape[1]].tobytes() == runs[0].logprobs.tobytes()
    # And they match one sequence at a time through the plain forward.
    for i in range(n):
        expected = reference_logprobs(model, tokenizer, prompts[i], completions[i], finish[i])
        np.testing.assert_allclose(runs[0].logprobs[i, :len(expected)], expected, atol=1e-5)


def test_batches_hold_one_length_and_at_most_batch_size_rows():
    lengths = [5, 3, 5, 5, 2, 3, 5, 9]
    order = np.argsort([-n for n in lengths], kind="stable")
    for batch_size in (1, 2, 3, 100):
        batches = list(_same_length_batches(order, lengths, batch_size))
        assert all(len({lengths[i] for i in rows}) == 1 for rows in batches)
        assert all(1 <= len(rows) <= batch_size for rows in batches)
        assert np.concatenate(batches).tolist() == order.tolist()
    assert [len(rows) for rows in _same_length_batches(order, lengths, 3)] == [1, 3, 1, 2, 1]


def test_batch_size_is_a_param_only_where_it_can_change_a_score():
    assert batch_size_param(256, "cpu") is None  # the tiny world
    assert batch_size_param(4, "cpu", "auto") is None  # auto is float32 on a CPU
    assert batch_size_param(4, "cuda", "float32", "vllm") is None  # vLLM never reads it
    assert batch_size_param(4, "cpu", "float32", "vllm-cpu") is None
    assert batch_size_param(4, "cuda", "bfloat16") == 4
    assert batch_size_param(4, "cuda") == 4  # a GPU's kernels follow the batch's shape
    assert batch_size_param(4, "auto", "float32") == 4  # may resolve to a GPU
    assert batch_size_param(4, "cpu", "bfloat16") == 4


def test_eos_is_scored_only_after_a_stopped_sample(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    both = completion_logprobs(model, tokenizer, ["4+3=", "4+3="], ["+3=7|7", "+3=7|7"],
                               ["stop", "length"])
    assert both.n_tokens.tolist() == [7, 6]
    np.testing.assert_allclose(both.logprobs[0, :6], both.logprobs[1, :6], atol=1e-6)
    eos = reference_logprobs(model, tokenizer, "4+3=", "+3=7|7", "stop")[-1]
    assert both.sum_logprob()[0] - both.sum_logprob()[1] == pytest.approx(eos, abs=1e-5)
    # An empty stopped completion is just its eos.
    empty = completion_logprobs(model, tokenizer, ["4+3="], [""], ["stop"])
    assert empty.n_tokens.tolist() == [1]
    with pytest.raises(ValueError, match="finish_reason"):
        completion_logprobs(model, tokenizer, ["4+3="], ["+3"], ["timeout"])
    with pytest.raises(ValueError, match="one of each"):
        completion_logprobs(model, tokenizer, ["4+3="], ["+3", "+4"], ["stop"])


def test_sum_over_first_tokens():
    scores = TokenLogprobs(logprobs=np.array([[-1, -2, -3], [-4, 0, 0]], dtype=np.float32),
                           n_tokens=np.array([3, 1]))
    assert scores.sum_logprob().tolist() == [-6, -4]
    assert scores.sum_logprob(2).tolist() == [-3, -4]  # the short one gives what it has
    assert scores.sum_logprob(np.array([1, 0])).tolist() == [-1, 0]


# --- a trained model prefers its own greedy answers (through the whole table) ---------------

@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory, one_thread):
    rng = np.random.default_rng(0)
    train = problems_frame(draw_problems(rng, [1, 2], 300, set(), "train"), "train")
    model, tokenizer, history = pretrain(
        train, ARCH, {"depths": [1, 2], "steps": 80, "batch_size": 64, "learning_rate": 3e-3},
        world=None, max_positions=48, seed=0, threads=1)
    assert history.loss.iloc[-1] < history.loss.iloc[0] - 0.5
    path = tmp_path_factory.mktemp("models") / "trained"
    save_checkpoint(model, tokenizer, path)
    return path, model, tokenizer


def test_model_prefers_its_greedy_output_over_random_text(trained_checkpoint):
    path, model, tokenizer = trained_checkpoint
    rng = np.random.default_rng(1)
    problems = problems_frame(draw_problems(rng, [2], 12, set(), "bench"), "bench")
    greedy = greedy_completions(model, tokenizer, problems.prompt.tolist(), max_new_tokens=20)
    assert (greedy.finish_reason == "stop").any()
    random_text = greedy.assign(completion=[
        "".join(rng.choice(list(ALPHABET), size=len(c))) for c in greedy.completion])
    table = perplexity_table({"model": path}, {"greedy": greedy, "random": random_text},
                             [("model", "greedy"), ("model", "random")], problems,
                             samples_per_problem=1)
    assert list(table.columns) == PERPLEXITY_COLUMNS and len(table) == 2 * len(problems)
    own = table[table.responses == "greedy"].set_index("problem_id")
    other = table[table.responses == "random"].set_index("problem_id")
    assert (own.ppl_per_token < other.ppl_per_token).all()
    assert (own.ppl_matched_length < other.ppl_matched_length).all()
    assert own.ppl_per_token.max() < 0.5 * other.ppl_per_token.min()


# --- matched length ---------------------------------------------------------------------------

def test_matched_length_is_the_shortest_response_across_all_sets(trained_checkpoint):
    path, model, tokenizer = trained_checkpoint
    problems = pd.DataFrame({"problem_id": ["p-0", "p-1"], "prompt": ["4+3=", "2*9-1="]})

    def responses(texts, finish):  # two samples per problem, listed out of order on purpose
        return pd.DataFrame({"problem_id": ["p-1", "p-0", "p-1", "p-0", "p-0"],
                             "sample_id": [1, 1, 0, 0, 2], "completion": texts,
                             "finish_reason": finish})

    long = responses(["*9=8-1=7|7", "+3=7|7", "*9=8", "+3=7|7", "|1"], ["stop"] * 5)
    short = responses(["*9", "+3=7", "*9=8-1=7|7", "+3", "+3=7|7"], ["length"] * 5)
    pairs = [("m", "long"), ("m", "short")]
    table = perplexity_table({"m": path}, {"long": long, "short": short}, pairs, problems,
                             samples_per_problem=2)
    # p-0 uses sample_ids 0 and 1: long "+3=7|7"+eos (7 tokens) twice, short "+3" (2) and
    # "+3=7" (4) -> L = 2. p-1: long "*9=8" + eos (5), "*9=8-1=7|7" + eos (11); short
    # "*9=8-1=7|7" (10), "*9" (2) -> L = 2. Sample 2 ("|1", 3 tokens) is not chosen.
    assert table.matched_length.tolist() == [2, 2, 2, 2]
    assert table.n_tokens.tolist() == [14, 16, 6, 12]
    for name, frame in (("long", long), ("short", short)):
        chosen = select_samples(frame, problems, 2)
        scores = completion_logprobs(model, tokenizer, chosen.prompt.tolist(),
                                     chosen.completion.tolist(), chosen.finish_reason.tolist())
        rows = table[table.responses == name]
        for p, problem_id in enumerate(["p-0", "p-1"]):
            mine = slice(2 * p, 2 * p + 2)
            full = -scores.sum_logprob()[mine].sum() / scores.n_tokens[mine].sum()
            first_two = -scores.logprobs[mine, :2].astype(np.float64).sum() / 4
            row = rows[rows.problem_id == problem_id].iloc[0]
            assert row.nll_per_token == pytest.approx(full, abs=1e-6)
            assert row.nll_matched_length == pytest.approx(first_two, abs=1e-6)
            assert row.ppl_matched_length == pytest.approx(np.exp(first_two), rel=1e-6)
    # Matched length: the same prefix of "+3=7|7" in p-0 scores the same whatever follows.
    # (sample 1 of short is "+3=7", sample 0 of long is "+3=7|7": same first two tokens)
    with pytest.raises(ValueError, match="fewer"):
        perplexity_table({"m": path}, {"long": long, "short": short}, pairs, problems,
                         samples_per_problem=3)
    with pytest.raises(ValueError, match="other problems"):
        perplexity_table({"m": path}, {"long": long, "short": short[short.problem_id == "p-0"]},
                         pairs, problems, samples_per_problem=1)


def test_select_samples_takes_the_first_sample_ids():
    problems = pd.DataFrame({"problem_id": ["a", "b"], "prompt": ["1=", "2="]})
    raw = pd.DataFrame({"prompt_index": [1, 0, 0, 1, 0], "sample_id": [0, 2, 0, 1, 1],
                        "completion": list("vwxyz"), "finish_reason": ["stop"] * 5})
    chosen = select_samples(raw, problems, 2)
    assert chosen.problem_id.tolist() == ["a", "a", "b", "b"]
    assert chosen.completion.tolist() == ["x", "z", "v", "y"]
    assert chosen.prompt.tolist() == ["1=", "1=", "2=", "2="]
    with pytest.raises(ValueError, match="not in the benchmark"):
        select_samples(raw.assign(prompt_index=0).assign(problem_id="zz"), problems, 1)


# --- prompts per response set ------------------------------------------------------------------

# Three problems, each model prompted its own way; B's completions differ from A's but have
# the same lengths (one token per character) and finish reasons, so matched lengths are the same whichever
# sets are scored together and every column can be compared exactly.
PER_SET_IDS = ["p-0", "p-1", "p-2"]
PROMPTS_A = pd.DataFrame({"problem_id": PER_SET_IDS, "prompt": ["4+3=", "2*9-1=", "5-5="]})
PROMPTS_B = pd.DataFrame({"problem_id": PER_SET_IDS, "prompt": ["1+4+3=", "9-2*9-1=", "0*5-5="]})


def two_samples_each(texts: list[str], finish: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"problem_id": ["p-2", "p-0", "p-1", "p-0", "p-1", "p-2"],
                         "sample_id": [0, 1, 1, 0, 0, 1], "completion": texts,
                         "finish_reason": finish})


FINISH_AB = ["stop", "stop", "length", "length", "stop", "stop"]
RESPONSES_A = two_samples_each(["-5=0|0", "+3=7|7", "*9=8", "+3=7", "*9=8-1=7|7", "|0"], FINISH_AB)
RESPONSES_B = two_samples_each(["*5=0|0", "+3=2|2", "-9=1", "*3=9", "-9=9+1=2|2", "|5"], FINISH_AB)


@pytest.fixture(scope="module")
def two_scorers(trained_checkpoint, tmp_path_factory):
    """The trained model and an untrained one (another tokenizer-compatible scorer)."""
    path = tmp_path_factory.mktemp("models") / "untrained"
    save_checkpoint(*tiny_world_model(seed=5), path)
    return {"m": trained_checkpoint[0], "u": path}


def test_a_perplexity_table_is_the_same_bytes_at_any_batch_size(two_scorers, tmp_path):
    """What a scoring job writes does not depend on batch_size (on a CPU in float32)."""
    responses, pairs = {"A": RESPONSES_A, "B": RESPONSES_B}, [("m", "A"), ("m", "B"), ("u", "B")]
    written = []
    for batch_size in (1, 4, 256):
        table = perplexity_table(two_scorers, responses, pairs, {"A": PROMPTS_A, "B": PROMPTS_B},
                                 samples_per_problem=2, batch_size=batch_size)
        write_csv(table, tmp_path / "table.csv")  # as scripts/score_perplexity.py writes it
        written.append((tmp_path / "table.csv").read_bytes())
    assert written[0] == written[1] == written[2]


def test_per_set_prompts_equal_scoring_each_set_with_its_own_prompts(two_scorers):
    responses = {"A": RESPONSES_A, "B": RESPONSES_B}
    pairs = [("m", "A"), ("m", "B"), ("u", "B")]
    together = perplexity_table(two_scorers, responses, pairs, {"A": PROMPTS_A, "B": PROMPTS_B},
                                samples_per_problem=2, batch_size=3)
    assert list(together.columns) == PERPLEXITY_COLUMNS
    assert list(zip(together.scorer, together.responses)) == [p for p in pairs for _ in PER_SET_IDS]
    alone_a = perplexity_table(two_scorers, {"A": RESPONSES_A}, pairs[:1], PROMPTS_A, 2, batch_size=3)
    alone_b = perplexity_table(two_scorers, {"B": RESPONSES_B}, pairs[1:], PROMPTS_B, 2, batch_size=3)
    pd.testing.assert_frame_equal(together, pd.concat([alone_a, alone_b], ignore_index=True),
                                  check_exact=True)
    assert np.isfinite(together.nll_per_token).all()
    # The prompts matter: B after A's prompts scores differently.
    wrong = perplexity_table(two_scorers, {"B": RESPONSES_B}, pairs[1:2], PROMPTS_A, 2, batch_size=3)
    assert (wrong.nll_per_token.to_numpy() != alone_b.nll_per_token.to_numpy()[:3]).all()
    with pytest.raises(ValueError, match=r"no problems \(prompts\) given for response sets \['B'\]"):
        perplexity_table(two_scorers, responses, pairs, {"A": PROMPTS_A}, 2)
    with pytest.raises(ValueError, match="not in the benchmark"):
        perplexity_table(two_scorers, responses, pairs,
                         {"A": PROMPTS_A, "B": PROMPTS_B.iloc[:2]}, 2)


def test_per_set_prompts_that_are_all_equal_give_the_single_frame_table(two_scorers):
    responses = {"A": RESPONSES_A, "B": RESPONSES_B}
    pairs = [("u", "A"), ("m", "A"), ("m", "B")]
    single = perplexity_table(two_scorers, responses, pairs, PROMPTS_A, samples_per_problem=2)
    per_set = perplexity_table(two_scorers, responses, pairs,
                               {"A": PROMPTS_A.copy(), "B": PROMPTS_A.copy(), "unused": PROMPTS_B},
                               samples_per_problem=2)
    pd.testing.assert_frame_equal(per_set, single, check_exact=True)
    assert per_set.to_csv(index=False) == single.to_csv(index=False)


# --- real-format (Hugging Face) checkpoints -----------------------------------------------------

HUB_QUESTIONS = pd.DataFrame({"problem_id": ["q-0", "q-1"],
                              "question": ["What is $2+3$?", "Solve $x^2 = {4}$ for x > 0."],
                              "reference_answer": ["5", "2"]})
CHAT = "<|im_start|>user\n{question}\nPut the answer in \\boxed{}.<|im_end|>\n<|im_start|>assistant\n"
PLAIN = "Question:\n{question}\nAnswer:\nLet's think step by step.\n"
OTHER = "<|im_start|>system\nReason first.<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n"


def hub_responses(seed: int) -> pd.DataFrame:
    """Scored-sample schema at paper scale: two samples per problem, one truncated."""
    rng = np.random.default_rng(seed)
    words = ["The", " answer", " is", " \\boxed{5}", " so", " x = 2", " é∑", "\n"]
    completions = ["".join(rng.choice(words, size=int(rng.integers(2, 9)))) for _ in range(4)]
    return pd.DataFrame({"problem_id": ["q-0", "q-0", "q-1", "q-1"], "sample_id": [0, 1, 0, 1],
                         "completion": completions,
                         "finish_reason": ["stop", "length", "stop", "stop"],
                         "completion_tokens": [len(c.encode()) for c in completions],
                         "grade_status_math_verify": ["correct", "wrong", "wrong", "correct"]})


def prompts_for(template: str) -> pd.DataFrame:
    return pd.DataFrame({"problem_id": HUB_QUESTIONS.problem_id,
                         "prompt": [apply_template(template, q) for q in HUB_QUESTIONS.question]})


@pytest.fixture(scope="module")
def hub_snapshots(tmp_path_factory):
    cache = tmp_path_factory.mktemp("hub")
    return {"base": save_in_cache(cache, "org/tiny-base", COMMIT, seed=0),
            "rl": save_in_cache(cache, "org/tiny-rl", COMMIT, seed=1)}


def test_hub_checkpoint_scores_each_set_after_its_own_template(hub_snapshots):
    responses = {"base": hub_responses(0), "rl": hub_responses(1), "other": hub_responses(2)}
    pairs = [("base", "base"), ("base", "other"), ("base", "rl"), ("rl", "rl")]
    templates = {"base": CHAT, "rl": CHAT, "other": OTHER}
    table = perplexity_table(hub_snapshots, responses, pairs,
                             {m: prompts_for(t) for m, t in templates.items()},
                             samples_per_problem=2, batch_size=2, device="cpu", dtype="float32")
    assert list(zip(table.scorer, table.responses)) == [p for p in pairs for _ in range(2)]
    assert np.isfinite(table[["nll_per_token", "nll_matched_length"]].to_numpy()).all()
    assert (table.nll_per_token > 0).all()
    # One token per byte, eos after each stopped sample.
    for name, frame in responses.items():
        expected = (frame.completion_tokens + (frame.finish_reason == "stop")).groupby(
            frame.problem_id).sum().tolist()
        part = table[table.responses == name]
        assert part.n_tokens.tolist() == expected * (len(part) // 2)

    # By hand: the base's NLL of "other"'s first sample of q-0, after other's prompt.
    model, tokenizer = load_checkpoint(hub_snapshots["base"])
    sample = responses["other"].iloc[0]
    prompt_ids = tokenizer(apply_template(OTHER, HUB_QUESTIONS.question[0]))["input_ids"]
    assert tokenizer.convert_tokens_to_ids("<|im_start|>") in prompt_ids  # a special, not text
    scored = tokenizer(sample.completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    with torch.no_grad():
        logprobs = torch.log_softmax(model(input_ids=torch.tensor([prompt_ids + scored])).logits[0].double(), -1)
    by_hand = -sum(logprobs[len(prompt_ids) - 1 + t, token].item() for t, token in enumerate(scored))
    one = perplexity_table(hub_snapshots, {"other": responses["other"].iloc[[0]]},
                           [("base", "other")], {"other": prompts_for(OTHER).iloc[[0]]}, 1)
    assert one.nll_per_token.iloc[0] * len(scored) == pytest.approx(by_hand, abs=1e-4)

    # Another template for "other" changes its rows and nothing else.
    changed = perplexity_table(hub_snapshots, responses, pairs,
                               {m: prompts_for(PLAIN if m == "other" else t)
                                for m, t in templates.items()},
                               samples_per_problem=2, batch_size=2)
    moved = (changed.responses == "other").to_numpy()
    pd.testing.assert_frame_equal(changed[~moved], table[~moved], check_exact=True)
    pd.testing.assert_frame_equal(changed[moved][["n_tokens", "matched_length"]],
                                  table[moved][["n_tokens", "matched_length"]])
    assert (changed[moved].nll_per_token.to_numpy() != table[moved].nll_per_token.to_numpy()).all()
    assert (changed[moved].nll_matched_length.to_numpy()
            != table[moved].nll_matched_length.to_numpy()).all()

    # dtype reaches load_checkpoint: bfloat16 rounds differently, but not by much.
    bf16 = perplexity_table(hub_snapshots, responses, pairs[:2],
                            {m: prompts_for(t) for m, t in templates.items()},
                            samples_per_problem=2, dtype="bfloat16")
    first = table.iloc[:len(bf16)]
    assert not np.array_equal(bf16.nll_per_token.to_numpy(), first.nll_per_token.to_numpy())
    np.testing.assert_allclose(bf16.nll_per_token, first.nll_per_token, atol=0.05)


def test_checkpoint_perplexity_rule_script(hub_snapshots, tmp_path, monkeypatch):
    """scripts/score_checkpoint_perplexity.py with Snakemake's object stood in for: the
    C3 pairs per benchmark, each response set after its own model's template."""
    benchmarks = ["easy", "hard"]
    models = {"base": "fam-base", "rl": ["fam-rl"], "others": ["fam-distill"]}
    responded = ["fam-base", "fam-rl", "fam-distill"]
    templates = {"fam-base": {"easy": CHAT, "hard": PLAIN}, "fam-rl": {"easy": CHAT, "hard": PLAIN},
                 "fam-distill": {"easy": OTHER, "hard": OTHER}}
    manifests = []
    for name, key in (("fam-base", "base"), ("fam-rl", "rl")):
        manifests.append(tmp_path / f"{name}.json")
        manifests[-1].write_text(json.dumps({"path": str(hub_snapshots[key])}))
    problems, responses, frames = [], [], {}
    for benchmark in benchmarks:  # as prepare_benchmark writes them
        problems.append(tmp_path / benchmark / "problems.jsonl")
        write_normalised(HUB_QUESTIONS.assign(source="test"), {"benchmark": benchmark},
                         problems[-1], problems[-1].with_name("manifest.json"))
    for i, model in enumerate(responded):
        for j, benchmark in enumerate(benchmarks):
            frames[model, benchmark] = hub_responses(10 * i + j)
            responses.append(tmp_path / f"{model}-{benchmark}.parquet")
            frames[model, benchmark].to_parquet(responses[-1])
    out = tmp_path / "table.csv"
    snakemake = SimpleNamespace(
        input=SimpleNamespace(scorers=[str(m) for m in manifests],
                              responses=[str(r) for r in responses],
                              problems=[str(p) for p in problems]),
        output=SimpleNamespace(table=str(out)), log=[str(tmp_path / "job.log")],
        params=SimpleNamespace(models=models, benchmarks=benchmarks, templates=templates,
                               samples_per_problem=2, batch_size=4, device="cpu",
                               dtype="float32", family="fam", backend="hf", max_model_len=None,
                               threads=1))
    monkeypatch.setattr("rlvr_boundary.workflow.job_io.start_job", lambda path: logging.getLogger("job"))
    runpy.run_path(str(SCRIPTS / "score_checkpoint_perplexity.py"), init_globals={"snakemake": snakemake})

    table = pd.read_csv(out, dtype={"problem_id": str})
    assert list(table.columns) == PERPLEXITY_COLUMNS + ["family", "benchmark"]
    pairs = [("fam-base", "fam-base"), ("fam-base", "fam-distill"), ("fam-base", "fam-rl"),
             ("fam-rl", "fam-rl")]
    assert list(dict.fromkeys(zip(table.benchmark, table.scorer, table.responses))) == [
        (b, *pair) for b in benchmarks for pair in pairs]
    assert (table.family == "fam").all() and len(table) == 2 * len(pairs) * 2
    scorers = {"fam-base": hub_snapshots["base"], "fam-rl": hub_snapshots["rl"]}
    for benchmark in benchmarks:
        expected = perplexity_table(
            scorers, {m: frames[m, benchmark] for m in responded}, pairs,
            {m: prompts_for(templates[m][benchmark]) for m in responded}, 2, 4)
        got = table[table.benchmark == benchmark][PERPLEXITY_COLUMNS].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-9)


# --- entropy ----------------------------------------------------------------------------------

def test_entropy_vanishes_at_small_temperature_and_grows_with_it(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    args = (model, tokenizer, PROMPTS, COMPLETIONS, FINISH)
    means = [pooled_entropy(token_entropy(*args, temperature=t)) for t in (1e-4, 0.5, 1.0, 2.0, 8.0)]
    assert means[0] < 1e-3
    assert all(a < b for a, b in zip(means, means[1:]))
    assert means[-1] < np.log(len(tokenizer)) + 1e-9
    assert (token_entropy(*args, temperature=0.0).entropy_sum == 0).all()
    # A tiny nucleus keeps only the top token: a point mass.
    assert pooled_entropy(token_entropy(*args, temperature=1.0, top_p=1e-6)) < 1e-9
    assert pooled_entropy(token_entropy(*args, temperature=1.0, top_p=0.9)) < means[2]


def test_entropy_matches_hand_computation(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    frame = token_entropy(model, tokenizer, PROMPTS[:1], COMPLETIONS[:1], ["stop"], temperature=0.7,
                          batch_size=1)
    vocab = tokenizer.get_vocab()
    ids = [tokenizer.bos_token_id] + [vocab[c] for c in PROMPTS[0] + COMPLETIONS[0]]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0].double() / 0.7
    probs = torch.softmax(logits, -1)[len(PROMPTS[0]):]  # positions that produced tokens and eos
    expected = -(probs * probs.log()).sum(-1)
    assert frame.n_tokens.tolist() == [len(COMPLETIONS[0]) + 1] == [len(expected)]
    assert frame.mean_entropy.iloc[0] == pytest.approx(expected.mean().item(), abs=1e-5)
    batched = token_entropy(model, tokenizer, PROMPTS, COMPLETIONS, FINISH, temperature=0.7,
                            batch_size=3)
    assert batched.entropy_sum.iloc[0] == pytest.approx(frame.entropy_sum.iloc[0], abs=1e-5)


def test_match_entropy_picks_the_closest_temperature():
    grid = [0.6, 1.0, 1.2, 1.5]
    table = pd.DataFrame({
        "model": ["base"] * 4 + ["rl"] * 4 + ["rl2"] * 4,
        "temperature": grid * 3,
        "mean_entropy": [0.2, 0.5, 0.6, 0.8,  0.05, 0.2, 0.4, 0.6,  0.01, 0.02, 0.03, 0.04]})
    out = match_entropy(table, {"rl": "base", "rl2": "base"}, reference_temperature=1.0)
    rl = out[out.model == "rl"].iloc[0]
    assert rl.base_entropy == 0.5 and rl.temperature == 1.2 and rl.entropy == 0.4
    assert rl.entropy_gap == pytest.approx(-0.1)
    assert rl.interpolated_temperature == pytest.approx(1.2 + 0.5 * 0.3)
    rl2 = out[out.model == "rl2"].iloc[0]
    assert rl2.temperature == 1.5 and np.isnan(rl2.interpolated_temperature)
    by_benchmark = match_entropy(pd.concat([table.assign(benchmark="x"),
                                            table.assign(benchmark="y")]),
                                 {"rl": "base"}, 1.0, by=["benchmark"])
    assert by_benchmark.benchmark.tolist() == ["x", "y"]
    with pytest.raises(ValueError, match="no entropy for base"):
        match_entropy(table, {"rl": "base"}, reference_temperature=0.8)


# --- the C3 shift and its CI ------------------------------------------------------------------

def planted_table(n_problems: int = 60, shift: float = 0.3, seed: int = 0) -> pd.DataFrame:
    """Base scores RL answers ``shift`` nats/token worse per token, but the same at matched
    length; both with problem-level noise shared by the pair (so pairing matters)."""
    rng = np.random.default_rng(seed)
    ids = [f"q-{i:03d}" for i in range(n_problems)]
    difficulty = rng.normal(1.0, 0.5, n_problems)
    noise = rng.normal(0, 0.05, n_problems)
    rows = []
    for name, per_token, matched in (("base", difficulty, difficulty),
                                     ("rl", difficulty + shift + noise, difficulty + noise)):
        rows.append(pd.DataFrame({"scorer": "base", "responses": name, "problem_id": ids,
                                  "nll_per_token": per_token, "nll_matched_length": matched}))
    return pd.concat(rows, ignore_index=True).sample(frac=1.0, random_state=1)  # order must not matter


def test_perplexity_shift_recovers_a_planted_difference():
    table = planted_table()
    weights = bootstrap_weights(60, 2000, seed=7)
    shift = perplexity_shift(table, "base", "rl", "base", weights).set_index("variant")
    noise = planted_table(shift=0.0)
    expected_noise = (noise[noise.responses == "rl"].sort_values("problem_id").nll_matched_length.to_numpy()
                      - noise[noise.responses == "base"].sort_values("problem_id").nll_matched_length.to_numpy()).mean()
    assert shift.loc["per_token", "value"] == pytest.approx(0.3 + expected_noise, abs=1e-12)
    assert 0.25 < shift.loc["per_token", "ci_low"] < 0.3 < shift.loc["per_token", "ci_high"] < 0.35
    assert shift.loc["matched_length", "ci_low"] < 0 < shift.loc["matched_length", "ci_high"]
    assert (shift.n_problems == 60).all()
    with pytest.raises(ValueError, match="weights shape"):
        perplexity_shift(table, "base", "rl", "base", bootstrap_weights(59, 10, seed=0))
    with pytest.raises(ValueError, match="no rows"):
        perplexity_shift(table, "rl", "rl", "base", weights)


# --- the figure ------------------------------------------------------------------------------

def test_figure_has_a_panel_per_variant_and_benchmark(tmp_path):
    parts = []
    for benchmark in ("easy", "hard"):
        table = planted_table(n_problems=10).assign(benchmark=benchmark, n_samples=4)
        table["ppl_per_token"] = np.exp(table.nll_per_token)
        table["ppl_matched_length"] = np.exp(table.nll_matched_length)
        parts.append(table)
    distributions = [("PPL_base(Y_base)", "base", "base"), ("PPL_base(Y_RL)", "base", "rl"),
                     ("PPL_RL(Y_RL)", "rl", "rl"), ("PPL_base(Y_teacher)", "base", "teacher")]
    fig = plot_perplexity_distributions(pd.concat(parts), distributions, "deep",
                                        {"easy": "GSM8K", "hard": "AIME24"})
    axes = fig.axes
    assert len(axes) == 4 and axes[0].get_title() == "easy (GSM8K)"
    assert [t.get_text() for t in axes[0].get_xticklabels()] == [d[0] for d in distributions]
    assert len(axes[0].patches) == 2  # the two distributions with rows; the others stay empty
    path = tmp_path / "ppl.png"
    save_figure(fig, str(path), dpi=50)
    assert path.stat().st_size > 1000
