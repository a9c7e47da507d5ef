"""Scoring responses with a model: token log-probs, perplexity and sampling entropy (C3, issue 4).

The paper's perplexity evidence for C3 (Fig. 6) compares four distributions per problem,
PPL_base(Y_base), PPL_base(Y_RL), PPL_RL(Y_RL) and PPL_base(Y_teacher), with
PPL_m(Y | x) = exp(-mean token log-prob). Its code was never released; this module is it.

A scored sequence is exactly what the sampler generated: the tokenizer's encoding of the
prompt (bos + characters for our models), then the completion's tokens, then eos when the
sample stopped (``finish_reason == "stop"``); a truncated sample (``"length"``) has no eos,
so its last token is not followed by a prediction we could score. The prompt is the one the
responding model was given (its own template at paper scale), whichever model scores it.

Sequences are sorted by length and batched one length at a time: nothing is padded, every
token sits at the position it had when it was generated, and a sequence's scores do not
depend on which or how many sequences share its batch. On a CPU in float32 that holds bit
for bit, so there ``batch_size`` changes speed only and is no param of a scoring job
(:func:`batch_size_param`; padded batches used to move scores by up to ~1e-6). Repeated
sequences (a low-entropy model's samples of one problem are often identical) are scored
once.

Per-token perplexity is confounded by length (later tokens of a chain are easier or harder
than early ones), so every table also has a matched-length variant: the mean NLL over the
first L tokens of each response, L the shortest response of the problem among all the
response sets compared.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np
import pandas as pd

from ..stats.passk import bootstrap_mean_ci
from ..workflow.job_io import progress_line

# torch, transformers (modeling) and the sampler are imported by the functions that score
# with a model: the summaries (perplexity_shift, match_entropy) run in jobs that would
# otherwise pay ~4 s of torch + transformers start-up for nothing.
if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

# Sequences per forward pass (at most: a batch holds one length). On CPU (tiny models,
# 1 thread) 256 rows were faster than 512 (12.7 vs 15.2 s for 19,200 sequences) and 2048
# (29.5 s): activations stay in cache.
DEFAULT_BATCH_SIZE = 256
PROGRESS_EVERY_S = 30.0  # a log line with rate and ETA this often while scoring

PERPLEXITY_COLUMNS = ["scorer", "responses", "problem_id", "n_samples", "n_tokens",
                      "matched_length", "nll_per_token", "ppl_per_token",
                      "nll_matched_length", "ppl_matched_length"]
SHIFT_COLUMNS = ["variant", "value", "ci_low", "ci_high", "n_problems"]
VARIANTS = {"per_token": "nll_per_token", "matched_length": "nll_matched_length"}


@dataclass(frozen=True)
class TokenLogprobs:
    """Per-token log-probs of N scored sequences.

    ``logprobs[i, t]`` is log p(token t of completion i | everything before it), zero for
    ``t >= n_tokens[i]``; token ``n_tokens[i] - 1`` is eos when sample i stopped.
    """

    logprobs: np.ndarray  # (N, T) float32
    n_tokens: np.ndarray  # (N,) int64

    def sum_logprob(self, first: int | np.ndarray | None = None) -> np.ndarray:
        """Sum over each sequence's tokens, or over its first ``first`` tokens (a scalar or
        one length per sequence; sequences shorter than that contribute all they have)."""
        totals = np.cumsum(self.logprobs, axis=1, dtype=np.float64)
        if first is None:
            first = self.n_tokens
        upto = np.minimum(np.broadcast_to(np.asarray(first, dtype=np.int64), self.n_tokens.shape),
                          self.n_tokens)
        if (upto < 0).any():
            raise ValueError("cannot take a negative number of tokens")
        padded = np.concatenate([np.zeros((len(totals), 1)), totals], axis=1)
        return padded[np.arange(len(totals)), upto]

    def frame(self) -> pd.DataFrame:
        """One row per sequence: sum_logprob, n_tokens, mean_logprob (NaN when empty)."""
        total = self.sum_logprob()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(self.n_tokens > 0, total / self.n_tokens, np.nan)
        return pd.DataFrame({"sum_logprob": total, "n_tokens": self.n_tokens,
                             "mean_logprob": mean})


def batch_size_param(batch_size: int, device: str, dtype: str | None = "float32",
                     backend: str = "hf") -> int | None:
    """``batch_size`` as a scoring job records it among its params (whose change reruns the
    job): None where the scores cannot depend on it - transformers on a CPU in float32
    (batches of one length: the same bits whatever the batch) and the vLLM backends (they
    batch on their own and never read it) - and the job reads it from the config instead;
    ``batch_size`` itself elsewhere (on a GPU, or in half precision, kernels follow the
    batch's shape)."""
    if backend != "hf" or (device == "cpu" and dtype in (None, "auto", "float32")):
        return None
    return batch_size


# --- encoding and the shared forward pass ---------------------------------------------------

def encode_sequences(model, tokenizer, prompts: Sequence[str], completions: Sequence[str],
                     finish_reasons: Sequence[str]) -> tuple[list[list[int]], list[list[int]]]:
    """(prompt ids, scored completion ids) per sequence, laid out as the sampler generated them:
    the tokenizer's special tokens around the prompt (bos for ours), eos after a stopped one."""
    if not len(prompts) == len(completions) == len(finish_reasons):
        raise ValueError(f"{len(prompts)} prompts, {len(completions)} completions and "
                         f"{len(finish_reasons)} finish reasons: need one of each per sequence")
    bad = set(finish_reasons) - {"stop", "length"}
    if bad:
        raise ValueError(f"unknown finish_reason values {sorted(bad)}")
    if not len(prompts):
        return [], []
    prompt_ids = _encode_each(tokenizer, prompts, add_special_tokens=True)
    completion_ids = _encode_each(tokenizer, completions, add_special_tokens=False)
    from ..sampling.generate import _eos_id

    eos = _eos_id(model, tokenizer)
    scored = [ids + ([eos] if finish == "stop" else [])
              for ids, finish in zip(completion_ids, finish_reasons)]
    empty_prompts = sum(1 for ids in prompt_ids if not ids)
    if empty_prompts:
        raise ValueError(f"{empty_prompts} prompts encode to no tokens: the first completion "
                         "token would have nothing to condition on")
    return prompt_ids, scored


def _encode_each(tokenizer, texts: Sequence[str], add_special_tokens: bool) -> list[list[int]]:
    """Each distinct text is encoded once (a problem's prompt recurs once per sample)."""
    distinct = list(dict.fromkeys(texts))
    encoded = dict(zip(distinct, tokenizer(distinct, add_special_tokens=add_special_tokens)["input_ids"]))
    return [list(encoded[text]) for text in texts]


def _distinct_sequences(prompt_ids: list[list[int]], scored_ids: list[list[int]]):
    """(distinct prompt ids, distinct scored ids, index of each sequence among the distinct).

    Scores depend on the sequence alone, so repeats (common among a low-entropy RL model's
    samples of one problem) are scored once."""
    index: dict[tuple, int] = {}
    inverse = np.array([index.setdefault((tuple(p), tuple(s)), len(index))
                        for p, s in zip(prompt_ids, scored_ids)], dtype=np.int64)
    distinct = list(index)
    return [list(p) for p, _ in distinct], [list(s) for _, s in distinct], inverse


def _scored_logits(model, prompt_ids: list[list[int]], scored_ids: list[list[int]],
                   batch_size: int) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
    """Yields (sequence indices, logits (b, T, V) predicting each scored token, lengths (b,)).

    Sequences go longest first in batches of one length each (at most ``batch_size`` rows):
    nothing is padded, so a sequence's logits are the same whichever sequences share its
    batch and however many there are (on a CPU in float32, bit for bit: the scores do not
    depend on ``batch_size``; tests/unit/test_perplexity.py).
    """
    import torch

    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    full = [p + s for p, s in zip(prompt_ids, scored_ids)]
    context = int(getattr(model.config, "max_position_embeddings", 0) or 0)
    longest = max(map(len, full), default=0)
    if context and longest > context:
        raise ValueError(f"a sequence of {longest} tokens exceeds the model's context ({context})")
    order = np.argsort([-len(f) for f in full], kind="stable")
    device = model.device
    started = last_log = time.perf_counter()
    done = 0
    with torch.inference_mode():
        for rows in _same_length_batches(order, [len(f) for f in full], batch_size):
            if done and time.perf_counter() - last_log >= PROGRESS_EVERY_S:
                last_log = time.perf_counter()
                log.info("scored sequences %s", progress_line(done, len(order), started))
            done += len(rows)
            input_ids = torch.tensor([full[i] for i in rows], dtype=torch.long)
            lengths = torch.tensor([len(scored_ids[i]) for i in rows], dtype=torch.long)
            span, width = int(lengths.max()), input_ids.shape[1]
            # The logit at position p predicts token p + 1: the first scored token of row r is
            # at len(prompt), so its logit is at len(prompt) - 1.
            first = torch.tensor([len(prompt_ids[i]) - 1 for i in rows], dtype=torch.long)
            positions = (first[:, None] + torch.arange(span)[None, :]).clamp(max=width - 1)
            logits = model(input_ids=input_ids.to(device)).logits  # no padding, no mask
            picked = logits.gather(1, positions.to(device)[:, :, None].expand(-1, -1, logits.shape[-1]))
            yield rows, picked.float(), lengths


def _same_length_batches(order: np.ndarray, lengths: list[int],
                         batch_size: int) -> Iterator[np.ndarray]:
    """``order`` (sorted by length) cut into runs of one length, each in chunks of at most
    ``batch_size``."""
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and lengths[order[end]] == lengths[order[start]]:
            end += 1
        for chunk in range(start, end, batch_size):
            yield order[chunk:min(chunk + batch_size, end)]
        start = end


def completion_logprobs(model, tokenizer, prompts: Sequence[str], completions: Sequence[str],
                        finish_reasons: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> TokenLogprobs:
    """Log-probs of each completion's tokens (and of eos after a stopped one) under ``model``.

    The model runs where it already is (``model.device``), in eval mode.
    """
    import torch

    prompt_ids, scored_ids, inverse = _distinct_sequences(
        *encode_sequences(model, tokenizer, prompts, completions, finish_reasons))
    n_tokens = np.array([len(s) for s in scored_ids], dtype=np.int64)
    out = np.zeros((len(scored_ids), int(n_tokens.max(initial=0))), dtype=np.float32)
    for rows, logits, lengths in _scored_logits(model, prompt_ids, scored_ids, batch_size):
        span = logits.shape[1]
        targets = torch.zeros((len(rows), span), dtype=torch.long)
        for r, i in enumerate(rows):
            targets[r, :lengths[r]] = torch.tensor(scored_ids[i], dtype=torch.long)
        logprobs = torch.log_softmax(logits, dim=-1).gather(
            2, targets.to(logits.device)[:, :, None]).squeeze(2).cpu()
        logprobs[torch.arange(span)[None, :] >= lengths[:, None]] = 0.0
        out[rows, :span] = logprobs.numpy()
    return TokenLogprobs(logprobs=out[inverse], n_tokens=n_tokens[inverse])


def completion_logprobs_vllm(llm, model_config, tokenizer, prompts: Sequence[str],
                             completions: Sequence[str],
                             finish_reasons: Sequence[str]) -> TokenLogprobs:
    """:func:`completion_logprobs` through a vLLM engine (GPU, or vLLM's CPU build): each
    sequence, laid out as the sampler generated it, goes in as a prompt of its own, and
    vLLM's prompt log-probs (raw log-softmax, no temperature) give every scored token's
    log-prob in one forward pass. ``model_config`` is the checkpoint's config (for its eos
    when the tokenizer has none)."""
    from types import SimpleNamespace

    from vllm import SamplingParams

    stand_in = SimpleNamespace(config=model_config)
    prompt_ids, scored_ids, inverse = _distinct_sequences(
        *encode_sequences(stand_in, tokenizer, prompts, completions, finish_reasons))
    n_tokens = np.array([len(ids) for ids in scored_ids], dtype=np.int64)
    out = np.zeros((len(scored_ids), int(n_tokens.max(initial=0))), dtype=np.float32)
    requests = [{"prompt_token_ids": p + c} for p, c in zip(prompt_ids, scored_ids)]
    outputs = llm.generate(requests, SamplingParams(max_tokens=1, prompt_logprobs=0),
                           use_tqdm=False)
    for row, (result, prompt, scored) in enumerate(zip(outputs, prompt_ids, scored_ids)):
        ids, logprobs = prompt + scored, result.prompt_logprobs  # logprobs[0] is None
        out[row, :len(scored)] = [logprobs[t][ids[t]].logprob for t in range(len(prompt), len(ids))]
    return TokenLogprobs(logprobs=out[inverse], n_tokens=n_tokens[inverse])


def _scoring(path, backend: str, device: str, dtype: str, batch_size: int,
             max_model_len: int | None = None):
    """(score, release): ``score(prompts, completions, finish_reasons) -> TokenLogprobs`` for
    the checkpoint at ``path`` with transformers (``hf``) or a vLLM engine (``vllm``,
    ``vllm-cpu``; its context ``max_model_len``, default the model's), and ``release()`` to
    free the model or stop the engine."""
    if backend == "hf":
        from ..models.modeling import load_checkpoint

        model, tokenizer = load_checkpoint(path, device, dtype)
        return (lambda *texts: completion_logprobs(model, tokenizer, *texts, batch_size)), (
            lambda: None)
    if backend not in ("vllm", "vllm-cpu"):
        raise ValueError(f"perplexity backend {backend!r}: choose hf, vllm or vllm-cpu")
    from transformers import AutoConfig, AutoTokenizer

    from ..models.integrity import verify_checkpoint
    from ..sampling.vllm_engine import make_llm

    verify_checkpoint(path)  # as load_checkpoint does: the engine reads the files itself
    tokenizer, config = AutoTokenizer.from_pretrained(path), AutoConfig.from_pretrained(path)
    llm = make_llm(str(path), seed=0, dtype=dtype, enforce_eager=backend == "vllm-cpu",
                   max_model_len=int(max_model_len or config.max_position_embeddings))
    return (lambda *texts: completion_logprobs_vllm(llm, config, tokenizer, *texts)), (
        llm.llm_engine.engine_core.shutdown)


def token_entropy(model, tokenizer, prompts: Sequence[str], completions: Sequence[str],
                  finish_reasons: Sequence[str], temperature: float, top_p: float = 1.0,
                  batch_size: int = DEFAULT_BATCH_SIZE) -> pd.DataFrame:
    """Entropy (nats) of the sampling distribution softmax(logits / T), nucleus-filtered and
    renormalised when ``top_p < 1``, at every generated position: the positions that
    produced each completion token and, for a stopped sample, its eos.

    One row per sequence: entropy_sum, n_tokens, mean_entropy (NaN when no position). The
    mean over all generated positions of a set is ``pooled_entropy(frame)``.
    ``temperature == 0`` is greedy decoding, a point mass: entropy 0.
    """
    import torch

    from ..sampling.generate import _nucleus

    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    prompt_ids, scored_ids, inverse = _distinct_sequences(
        *encode_sequences(model, tokenizer, prompts, completions, finish_reasons))
    n_tokens = np.array([len(s) for s in scored_ids], dtype=np.int64)
    sums = np.zeros(len(scored_ids), dtype=np.float64)
    if temperature > 0:
        for rows, logits, lengths in _scored_logits(model, prompt_ids, scored_ids, batch_size):
            probs = torch.softmax(logits / temperature, dim=-1)
            if top_p < 1.0:
                probs = _nucleus(probs, top_p)
                probs = probs / probs.sum(dim=-1, keepdim=True)
            entropy = torch.special.entr(probs).sum(dim=-1).cpu()  # entr(0) = 0
            entropy[torch.arange(entropy.shape[1])[None, :] >= lengths[:, None]] = 0.0
            sums[rows] = entropy.double().sum(dim=1).numpy()
    sums, n_tokens = sums[inverse], n_tokens[inverse]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_tokens > 0, sums / n_tokens, np.nan)
    return pd.DataFrame({"entropy_sum": sums, "n_tokens": n_tokens, "mean_entropy": mean})


def pooled_entropy(entropy: pd.DataFrame) -> float:
    """Mean entropy over all generated positions of a set of sequences (token-weighted)."""
    return float(entropy.entropy_sum.sum() / entropy.n_tokens.sum())


# --- choosing and joining samples --------------------------------------------------------------

def select_samples(samples: pd.DataFrame, problems: pd.DataFrame,
                   samples_per_problem: int | None) -> pd.DataFrame:
    """Each problem's first ``samples_per_problem`` samples by sample_id (all when None), with
    its prompt. Samples are independent draws, so the first ones are a random subset that
    needs no seed and is the same whoever asks. Accepts ``problem_id`` (scored samples) or
    ``prompt_index`` (raw sampler output: the row of ``problems``)."""
    if "problem_id" not in samples.columns:
        if "prompt_index" not in samples.columns:
            raise ValueError("samples need a problem_id or a prompt_index column")
        samples = samples.assign(problem_id=problems.problem_id.to_numpy()[samples.prompt_index])
    unknown = set(samples.problem_id) - set(problems.problem_id)
    if unknown:
        raise ValueError(f"samples name {len(unknown)} problems not in the benchmark, "
                         f"e.g. {sorted(unknown)[:3]}")
    chosen = samples.sort_values(["problem_id", "sample_id"], kind="stable")
    if samples_per_problem is not None:
        if samples_per_problem < 1:
            raise ValueError(f"samples_per_problem must be positive, got {samples_per_problem}")
        have = chosen.groupby("problem_id").size()
        if (have < samples_per_problem).any():
            raise ValueError(f"asked for {samples_per_problem} samples per problem, but "
                             f"{int((have < samples_per_problem).sum())} problems have fewer "
                             f"(as few as {int(have.min())})")
        chosen = chosen.groupby("problem_id", sort=False).head(samples_per_problem)
    prompts = problems.set_index("problem_id").prompt
    chosen = chosen.assign(prompt=prompts.loc[chosen.problem_id].to_numpy())
    return chosen.reset_index(drop=True)


def samples_entropy(model, tokenizer, samples: pd.DataFrame, problems: pd.DataFrame,
                    temperature: float, top_p: float = 1.0, samples_per_problem: int | None = None,
                    batch_size: int = DEFAULT_BATCH_SIZE) -> dict:
    """A model's mean token entropy at ``temperature`` over (its own) samples: one row of the
    entropy table {mean_entropy, n_tokens, n_sequences} that :func:`match_entropy` reads."""
    chosen = select_samples(samples, problems, samples_per_problem)
    entropy = token_entropy(model, tokenizer, chosen.prompt.tolist(), chosen.completion.tolist(),
                            chosen.finish_reason.tolist(), temperature, top_p, batch_size)
    return {"mean_entropy": pooled_entropy(entropy), "n_tokens": int(entropy.n_tokens.sum()),
            "n_sequences": len(entropy)}


def model_entropy_rows(name: str, model, tokenizer, benchmarks: Sequence[str],
                       temperatures: Sequence[float], problems_of: dict[str, pd.DataFrame],
                       samples: Iterator[pd.DataFrame], top_p: float,
                       samples_per_problem: int | None,
                       batch_size: int = DEFAULT_BATCH_SIZE) -> list[dict]:
    """Rows of the entropy table for one model (``name``): its mean token entropy on its own
    samples at each benchmark and temperature. ``samples`` yields its samples frames in
    benchmark, then temperature order; ``problems_of[benchmark]`` has the prompts it answered."""
    rows = []
    for benchmark in benchmarks:
        for temperature in temperatures:
            result = samples_entropy(model, tokenizer, next(samples), problems_of[benchmark],
                                     temperature, top_p, samples_per_problem, batch_size)
            rows.append({"model": name, "benchmark": benchmark, "temperature": temperature,
                         **result})
            log.info("%s %s T=%g: mean entropy %.4f", name, benchmark, temperature,
                     result["mean_entropy"])
    return rows


def perplexity_pairs(base: str, rl: Sequence[str], others: Sequence[str] = ()) -> list[tuple[str, str]]:
    """C3's (scorer, responses) pairs: the base on its own responses and on the others' (the
    teacher's or a distilled model's), then each RL model's responses under the base and
    under the RL model itself."""
    return ([(base, base)] + [(base, other) for other in others]
            + [pair for model in rl for pair in ((base, model), (model, model))])


# --- the perplexity table ---------------------------------------------------------------------

def _check_retokenized(name: str, chosen: pd.DataFrame, scores: TokenLogprobs) -> None:
    """The sampler records how many tokens it generated; text that re-encodes differently
    (e.g. a special token sampled mid-completion and dropped by decoding) is scored as text."""
    if "completion_tokens" not in chosen.columns:
        return
    expected = chosen.completion_tokens.to_numpy() + (chosen.finish_reason == "stop").to_numpy()
    differ = int((expected != scores.n_tokens).sum())
    if differ:
        log.warning("%s: %d of %d responses re-encode to a different token count than sampled; "
                    "their decoded text is scored", name, differ, len(chosen))


def perplexity_table(scorers: dict[str, str | Path], responses: dict[str, pd.DataFrame],
                     pairs: list[tuple[str, str]],
                     problems: pd.DataFrame | dict[str, pd.DataFrame], samples_per_problem: int,
                     batch_size: int = DEFAULT_BATCH_SIZE, device: str = "cpu",
                     dtype: str = "float32", backend: str = "hf",
                     max_model_len: int | None = None) -> pd.DataFrame:
    """Per (scorer, responses) pair and problem: the perplexity of that problem's chosen
    responses under the scorer (columns :data:`PERPLEXITY_COLUMNS`).

    ``scorers`` maps a name to a checkpoint folder (ours or a Hugging Face one, loaded by
    :func:`~rlvr_boundary.models.modeling.load_checkpoint` on ``device`` in ``dtype``, or
    served by a vLLM engine with ``backend`` vllm / vllm-cpu: the same log-probs from its
    prompt log-probs);
    ``responses`` maps a name to a samples frame (scored or raw) on the benchmark;
    ``pairs`` lists (scorer name, responses name). Each problem uses its first
    ``samples_per_problem`` samples of each response set (:func:`select_samples`).

    A response is scored conditioned on the prompt it was generated from, whichever model
    scores it. ``problems`` gives those prompts: one frame (problem_id, prompt) for every
    response set (all models prompted alike, as in the tiny world), or a dict
    {response set name: frame} for models with their own prompt templates (at paper scale
    a base and its RL model answer one template, a distilled model another). Each response
    set named in ``pairs`` needs an entry; all must cover the same problems.

    - ppl_per_token = exp(nll_per_token), the NLL per token pooled over the problem's
      chosen responses (tokens incl. eos of stopped responses);
    - ppl_matched_length: the same over the first ``matched_length`` tokens of each response,
      where matched_length is the shortest chosen response of that problem among ALL
      response sets named in ``pairs``, so every set is scored on equally long prefixes.
    Rows are ordered as ``pairs``, then by problem_id.
    """
    if not pairs:
        raise ValueError("no (scorer, responses) pairs to score")
    missing = ({s for s, _ in pairs} - set(scorers)) | ({r for _, r in pairs} - set(responses))
    if missing:
        raise ValueError(f"pairs name unknown scorers or response sets: {sorted(missing)}")
    if len(set(pairs)) != len(pairs):
        raise ValueError("pairs lists some (scorer, responses) pair twice")
    names = list(dict.fromkeys(r for _, r in pairs))
    if isinstance(problems, pd.DataFrame):
        prompts_of = dict.fromkeys(names, problems)
    else:
        without = [name for name in names if name not in problems]
        if without:
            raise ValueError(f"no problems (prompts) given for response sets {without}")
        prompts_of = problems
    chosen = {name: select_samples(responses[name], prompts_of[name], samples_per_problem)
              for name in names}
    problem_ids = None
    for name, frame in chosen.items():
        ids = np.unique(frame.problem_id.to_numpy())
        if problem_ids is None:
            problem_ids = ids
        elif not np.array_equal(ids, problem_ids):
            raise ValueError(f"response set {name!r} covers other problems than "
                             f"{next(iter(chosen))!r}: cannot match lengths per problem")
    # Frames are sorted by (problem_id, sample_id) with the same count per problem, so
    # sample j of problem p sits at the same row in every set: reshape to (P, S).
    shape = (len(problem_ids), samples_per_problem)

    scores: dict[tuple[str, str], TokenLogprobs] = {}
    for scorer in dict.fromkeys(s for s, _ in pairs):
        log.info("scoring with %s (%s)", scorer, scorers[scorer])
        score, release = _scoring(scorers[scorer], backend, device, dtype, batch_size,
                                  max_model_len)
        for s, r in pairs:
            if s == scorer:
                frame = chosen[r]
                scores[s, r] = score(frame.prompt.tolist(), frame.completion.tolist(),
                                     frame.finish_reason.tolist())
                _check_retokenized(f"{s} on {r}", frame, scores[s, r])
        release()
        del score  # the model goes before the next scorer's comes

    # Token counts depend on the scorer's tokenizer; matched lengths come from every scored pair.
    lengths = np.stack([sc.n_tokens.reshape(shape) for sc in scores.values()])
    if (lengths == 0).any():
        raise ValueError("a chosen response has no scored tokens (empty and truncated)")
    matched = lengths.min(axis=(0, 2))  # (P,)
    rows = []
    for (scorer, name), sc in scores.items():
        n_tokens = sc.n_tokens.reshape(shape).sum(axis=1)
        nll = -sc.sum_logprob().reshape(shape).sum(axis=1) / n_tokens
        per_row_matched = np.repeat(matched, samples_per_problem)
        nll_matched = -sc.sum_logprob(per_row_matched).reshape(shape).sum(axis=1) / (
            matched * samples_per_problem)
        rows.append(pd.DataFrame({
            "scorer": scorer, "responses": name, "problem_id": problem_ids,
            "n_samples": samples_per_problem, "n_tokens": n_tokens, "matched_length": matched,
            "nll_per_token": nll, "ppl_per_token": np.exp(nll),
            "nll_matched_length": nll_matched, "ppl_matched_length": np.exp(nll_matched)}))
    return pd.concat(rows, ignore_index=True)[PERPLEXITY_COLUMNS]


def perplexity_shift(table: pd.DataFrame, scorer: str, responses: str, reference: str,
                     weights: np.ndarray, level: float = 0.95) -> pd.DataFrame:
    """Mean over problems of log PPL_scorer(Y_responses) - log PPL_scorer(Y_reference), per
    variant (per_token, matched_length), with a problem-paired bootstrap CI.

    For C3: scorer = base, responses = RL, reference = base. Near zero or negative means
    the RL answers are at least as likely under the base as the base's own answers.
    ``weights``: :func:`~rlvr_boundary.stats.passk.bootstrap_weights` for the benchmark, (B, P)
    in problem_id order; ``table`` holds one benchmark's rows.
    """
    def one(name: str) -> pd.DataFrame:
        part = table[(table.scorer == scorer) & (table.responses == name)]
        if part.empty:
            raise ValueError(f"no rows for scorer {scorer!r} on responses {name!r}")
        if part.problem_id.duplicated().any():
            raise ValueError(f"scorer {scorer!r} on {name!r} has duplicate problems "
                             "(several benchmarks in one table?)")
        return part.sort_values("problem_id", kind="stable")

    a, b = one(responses), one(reference)
    if not np.array_equal(a.problem_id.to_numpy(), b.problem_id.to_numpy()):
        raise ValueError(f"{responses!r} and {reference!r} cover different problems: cannot pair")
    rows = []
    for variant, column in VARIANTS.items():
        per_problem = a[column].to_numpy() - b[column].to_numpy()
        value, low, high = bootstrap_mean_ci(per_problem, weights, level)
        rows.append({"variant": variant, "value": value, "ci_low": low, "ci_high": high,
                     "n_problems": len(per_problem)})
    return pd.DataFrame(rows, columns=SHIFT_COLUMNS)


# --- the temperature whose entropy matches the base's ------------------------------------------

def match_entropy(entropy: pd.DataFrame, base_of: dict[str, str], reference_temperature: float = 1.0,
                  by: Sequence[str] = ()) -> pd.DataFrame:
    """For each RL model (``base_of``: RL model -> its base), the temperature of ``entropy``'s
    grid whose mean entropy is closest to the base's at ``reference_temperature`` (ties: the
    lower temperature), and that temperature linearly interpolated between the two grid
    points that bracket the base's entropy (NaN when none do).

    ``entropy`` has columns model, temperature, mean_entropy and the ``by`` columns (e.g.
    benchmark), one row per (model, temperature, *by).
    """
    keys = ["model", "temperature", *by]
    if entropy.duplicated(keys).any():
        raise ValueError(f"entropy table has duplicate rows for {keys}")
    rows = []
    groups = entropy.groupby(list(by), sort=True) if by else [((), entropy)]
    for group, part in groups:
        group = group if isinstance(group, tuple) else (group,)
        for rl, base in base_of.items():
            ref = part[(part.model == base) & np.isclose(part.temperature, reference_temperature)]
            if ref.empty:
                raise ValueError(f"no entropy for base {base!r} at T={reference_temperature} "
                                 f"{dict(zip(by, group))}")
            target = float(ref.mean_entropy.iloc[0])
            curve = part[part.model == rl].sort_values("temperature")
            if curve.empty:
                raise ValueError(f"no entropy rows for RL model {rl!r} {dict(zip(by, group))}")
            temps, values = curve.temperature.to_numpy(float), curve.mean_entropy.to_numpy(float)
            gap = np.abs(values - target)
            best = int(np.flatnonzero(gap == gap.min())[0])
            rows.append({**dict(zip(by, group)), "model": rl, "base": base,
                         "reference_temperature": reference_temperature, "base_entropy": target,
                         "temperature": temps[best], "entropy": values[best],
                         "entropy_gap": values[best] - target,
                         "interpolated_temperature": _interpolate(temps, values, target)})
    return pd.DataFrame(rows)


def _interpolate(temps: np.ndarray, values: np.ndarray, target: float) -> float:
    """The first grid interval whose entropies bracket ``target``, linearly interpolated."""
    for i in range(len(temps) - 1):
        low, high = values[i], values[i + 1]
        if min(low, high) <= target <= max(low, high):
            if high == low:
                return float(temps[i])
            return float(temps[i] + (target - low) / (high - low) * (temps[i + 1] - temps[i]))
    return float("nan")
