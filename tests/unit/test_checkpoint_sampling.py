"""Paper-scale sampling of Hub-format checkpoints (sampling.checkpoints): the paper's stop
rules (stop strings and stop token ids per template, LeapLabTHU/limit-of-RLVR's
math_eval.py) in the hf backend and, where vllm is installed, the vLLM one; which stop fired
per sample and a count of them; no doubled BOS; dtype and device ``auto`` resolved in the job.

The checkpoint is a scripted tiny Llama, built offline: its one layer adds nothing to the
residual stream, so the next token depends on the current one only, through a successor
table in the unembedding. Each question's last character starts its own chain, so one call
sees every kind of stop."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
import yaml
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from rlvr_boundary.models import modeling
from rlvr_boundary.models.modeling import resolve_device, resolve_dtype
from rlvr_boundary.sampling import generate
from rlvr_boundary.sampling.benchmarks import apply_template
from rlvr_boundary.grading.counting import stop_reason_counts
from rlvr_boundary.sampling.checkpoints import (encode_prompts, paper_cut, sample_problems,
                                                template_rules)
from rlvr_boundary.workflow.paper_plan import load_study_config, prompt_template

REPO = Path(__file__).resolve().parents[2]
PAPER = load_study_config(REPO / "configs/paper.yaml", REPO / "configs/catalog.yaml")
EOS, BOS, IM_END = "<|endoftext|>", "<｜begin▁of▁sentence｜>", "<|im_end|>"
SPECIALS = [EOS, BOS, IM_END, "<｜User｜>"]
# Question ending in key -> what the model writes (EOS / IM_END: those special tokens).
CHAINS = {
    "1": [" ", "A", "b", "=", "7", "u", "s", "e", "r", "Z"],  # then Z forever: "user" stops it
    "2": ["C", "d", IM_END, "Y"],  # <|im_end|> (a stop token id), then Y forever
    "3": ["F", "g", EOS],  # the model's eos
    "4": ["H", "k", "W"],  # W forever: only max_new_tokens ends it
}
PROBLEMS = pd.DataFrame({"problem_id": ["p1", "p2", "p3", "p4"],
                         "question": ["x1", "x2", "x3", "x4"]})
STOPS = {"text": "Q: {question}", "stop": ["user", "_end"], "stop_token_ids": [258]}


def _tokenizer(bos: bool = False) -> PreTrainedTokenizerFast:
    """Byte-level BPE (one token per byte) with EOS, BOS, <|im_end|> as ids 256-259; with
    ``bos`` it adds BOS in front of every text, as DeepSeek-R1-Distill's tokenizer does."""
    vocab = {char: i for i, char in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(SPECIALS)
    if bos:
        core.post_processor = processors.TemplateProcessing(
            single=f"{BOS} $A", special_tokens=[(BOS, core.token_to_id(BOS))])
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token=EOS, pad_token=EOS,
                                   bos_token=BOS if bos else None, padding_side="left")


def _scripted_model(tokenizer) -> LlamaForCausalLM:
    vocab = len(tokenizer)
    config = LlamaConfig(vocab_size=vocab, hidden_size=288, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                         head_dim=32, max_position_embeddings=256, tie_word_embeddings=False,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.eos_token_id)
    model = LlamaForCausalLM(config).eval()
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIALS}

    def token_id(piece: str) -> int:
        return ids[piece] if piece in ids else tokenizer(piece, add_special_tokens=False)["input_ids"][0]

    successor = list(range(vocab))  # every other token repeats itself
    for start, chain in CHAINS.items():
        path = [token_id(start), *map(token_id, chain)]
        for current, following in zip(path, path[1:]):
            successor[current] = following
    with torch.no_grad():
        model.model.embed_tokens.weight.copy_(torch.eye(vocab, config.hidden_size))
        head = torch.zeros(vocab, config.hidden_size)
        head[successor, torch.arange(vocab)] = 1.0  # RMSNorm scales it to sqrt(288) ~ 17
        model.lm_head.weight.copy_(head)
        layer = model.model.layers[0]
        layer.self_attn.o_proj.weight.zero_()
        layer.mlp.down_proj.weight.zero_()
    return model


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("scripted") / "model"
    tokenizer = _tokenizer()
    _scripted_model(tokenizer).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def _settings(backend: str = "hf", **extra) -> dict:
    return {"backend": backend, "top_p": 1.0, "max_new_tokens": 24, "max_model_len": 128,
            "dtype": "float32", **extra}


def _check_paper_stops(samples: pd.DataFrame) -> None:
    rows = samples.set_index("problem_id")
    # "user": the text before it, stripped as math_eval.py strips it; the tokens up to the
    # one completing the string (as vLLM counts them).
    assert rows.loc["p1", ["completion", "finish_reason", "stop_reason"]].tolist() == [
        "Ab=7", "stop", "user"]
    assert rows.loc["p1", "completion_tokens"] == 9
    # A stop token id: the sample ends at it (the text after it is never written).
    assert rows.loc["p2", ["completion", "finish_reason", "stop_reason"]].tolist() == [
        "Cd", "stop", "eos:258"]
    assert rows.loc["p2", "completion_tokens"] == 3
    assert rows.loc["p3", ["completion", "finish_reason", "stop_reason"]].tolist() == [
        "Fg", "stop", "eos:256"]
    assert rows.loc["p4", ["completion", "finish_reason", "stop_reason"]].tolist() == [
        "Hk" + "W" * 22, "length", "length"]
    assert rows.loc["p4", "completion_tokens"] == 24


# --- the hf backend ------------------------------------------------------------------------

@pytest.mark.parametrize("decoder", ["shared_prefix", "generic"])
def test_hf_backend_honours_stop_strings_and_stop_ids(checkpoint, decoder, monkeypatch):
    if decoder == "generic":  # the path of GPUs and non-Llama models
        monkeypatch.setattr(generate._SharedPrefixDecoder, "supports", staticmethod(lambda m: False))
    samples = sample_problems(checkpoint, PROBLEMS, STOPS, 1, 0.0, _settings(batch_size=3), 0)
    assert list(samples.columns) == ["problem_id", "sample_id", "completion", "finish_reason",
                                     "completion_tokens", "stop_reason"]
    _check_paper_stops(samples)


def test_without_stop_rules_the_model_writes_past_its_turn(checkpoint):
    """What the paper's rules prevent: with a plain template only the eos ends a sample, and
    a base model goes on after its end-of-turn token."""
    samples = sample_problems(checkpoint, PROBLEMS, "Q: {question}", 1, 0.0, _settings(), 0)
    rows = samples.set_index("problem_id")
    assert rows.loc["p1", "completion"] == " Ab=7user" + "Z" * 15
    assert rows.loc["p1", "stop_reason"] == "length"
    assert rows.loc["p2", "completion"] == "Cd" + "Y" * 21  # <|im_end|> decodes to nothing
    assert rows.loc["p3", "stop_reason"] == "eos:256" and rows.loc["p3", "completion"] == "Fg"


def test_sampling_stop_strings_are_added_to_the_templates(checkpoint):
    settings = _settings(stop=["="])
    samples = sample_problems(checkpoint, PROBLEMS, "Q: {question}", 2, 0.0, settings, 0)
    assert samples.problem_id.tolist() == ["p1", "p1", "p2", "p2", "p3", "p3", "p4", "p4"]
    first = samples[samples.problem_id == "p1"]
    assert first.completion.tolist() == ["Ab", "Ab"] and first.stop_reason.tolist() == ["=", "="]
    assert first.completion_tokens.tolist() == [4, 4]


def test_the_stop_string_completing_first_fires_as_in_vllm(checkpoint):
    template = {"text": "Q: {question}", "stop": ["Ab=7u", "=7"]}
    samples = sample_problems(checkpoint, PROBLEMS.head(1), template, 1, 0.0, _settings(), 0)
    assert samples.stop_reason.tolist() == ["=7"] and samples.completion.tolist() == ["Ab"]
    assert samples.completion_tokens.tolist() == [5]


def test_a_stop_string_ends_generation_early(checkpoint):
    """Rows whose text holds a stop string leave the batch within a few steps rather than
    running to max_new_tokens (counted by calls of the unembedding)."""
    tokenizer = _tokenizer()
    model = _scripted_model(tokenizer)
    steps = []
    model.lm_head.register_forward_hook(lambda *_: steps.append(1))
    prompts = [apply_template("Q: {question}", "x1")]
    frame = generate.sample_completions(model, tokenizer, prompts, 1, 0.0, 1.0, 200, 0,
                                        stop_token_ids=[256], stop_strings=["user"])
    assert frame.stop_reason.tolist() == ["user"] and frame.completion_tokens.tolist() == [9]
    assert frame.completion.tolist() == [" Ab=7"]  # cut; paper_cut strips it later
    assert len(steps) <= 9 + 2 * generate._TextStops.EVERY


def test_tiny_world_frames_keep_their_columns(checkpoint):
    tokenizer = _tokenizer()
    frame = generate.sample_completions(_scripted_model(tokenizer), tokenizer, ["Q: x3"], 1, 0.0,
                                        1.0, 8, 0)
    assert list(frame.columns) == generate.SAMPLE_COLUMNS
    assert frame.completion_tokens.tolist() == [2]  # the tiny world's count: eos excluded


# --- the paper's rules, the config and the summary -------------------------------------------

def test_paper_cut_is_math_eval_post_processing():
    stop = ["</s>", "<|im_end|>", "assistant", "user"]
    assert paper_cut("  The answer is \\boxed{2}.\n\nuser\nNext question", stop) == \
        "The answer is \\boxed{2}."
    assert paper_cut(" x assistant y user z ", stop) == "x"
    assert paper_cut("  kept as is  ", []) == "  kept as is  "


def test_paper_templates_carry_math_eval_stop_rules():
    qwen = prompt_template(PAPER, "qwen25_7b", "gsm8k", stops=True)
    assert qwen["text"] == prompt_template(PAPER, "qwen25_7b", "gsm8k")
    assert qwen["stop_token_ids"] == [151645, 151643]
    assert qwen["stop"][:3] == ["</s>", "<|im_end|>", "<|endoftext|>"]
    assert {"assistant", "user", "_end", "_start"} <= set(qwen["stop"])
    math = prompt_template(PAPER, "qwen25_math_7b-oat-zero", "aime24", stops=True)
    assert math["stop_token_ids"] == [151645, 151643]
    abel = prompt_template(PAPER, "llama31_8b", "math500", stops=True)
    assert {"Question:", "Answer:"} <= set(abel["stop"]) and abel["stop_token_ids"] == []
    r1 = prompt_template(PAPER, "r1_distill_qwen_7b", "math500", stops=True)
    assert {"User:", "Assistant:", "</answer>", "\nProblem"} <= set(r1["stop"])
    # The sampler's view: sampling.stop added, repeats dropped, order kept.
    text, stop, ids = template_rules(qwen, PAPER["sampling"]["stop"])
    assert text == qwen["text"] and stop == qwen["stop"] and ids == [151645, 151643]
    assert template_rules("{question}", ["a", "a"]) == ("{question}", ["a"], [])
    with pytest.raises(ValueError, match="keys"):
        template_rules({"text": "{question}", "stops": ["x"]})


def test_stop_rules_for_an_unknown_template_are_refused():
    config = {**PAPER, "prompt_stops": {**PAPER["prompt_stops"], "qwen-boxd": {"stop": ["x"]}}}
    with pytest.raises(ValueError, match="prompt_stops.*qwen-boxd"):
        prompt_template(config, "qwen25_7b", "gsm8k")
    without = {key: value for key, value in PAPER.items() if key != "prompt_stops"}
    assert prompt_template(without, "qwen25_7b", "gsm8k", stops=True)["stop"] == []


def test_stop_reason_counts_per_model_and_benchmark():
    samples = pd.DataFrame({
        "model": ["a"] * 5 + ["b"] * 2,
        "benchmark": ["m"] * 4 + ["g"] + ["m"] * 2,
        "stop_reason": ["user", "eos:151645", "user", "length", "eos:151643", "length", "length"],
        "finish_reason": ["stop", "stop", "stop", "length", "stop", "length", "length"],
    })
    counts = stop_reason_counts(samples)
    assert list(counts.columns) == ["model", "benchmark", "stop_reason", "samples", "share"]
    assert counts.values.tolist() == [
        ["a", "g", "eos:151643", 1, 1.0],
        ["a", "m", "user", 2, 0.5], ["a", "m", "eos:151645", 1, 0.25], ["a", "m", "length", 1, 0.25],
        ["b", "m", "length", 2, 1.0]]
    # A frame without stop reasons (the tiny world's) counts its finish reasons.
    legacy = stop_reason_counts(samples.drop(columns=["stop_reason", "model"]))
    assert legacy.values.tolist() == [["g", "stop", 1, 1.0], ["m", "length", 3, 0.5],
                                      ["m", "stop", 3, 0.5]]  # ties in name order
    assert stop_reason_counts(samples.iloc[:0]).empty


# --- BOS ---------------------------------------------------------------------------------------

def test_a_template_bos_is_not_doubled_by_the_tokenizer():
    tokenizer = _tokenizer(bos=True)
    bos = tokenizer.bos_token_id
    prompt = apply_template(PAPER["prompt_templates"]["deepseek-r1"], "What is 1+1?")
    assert prompt.startswith(BOS)
    assert tokenizer(prompt)["input_ids"][:2] == [bos, bos]  # the bug this guards against
    with_bos, plain = encode_prompts(tokenizer, [prompt, "What is 1+1?"])
    assert with_bos[0] == bos and with_bos[1] != bos and with_bos.count(bos) == 1
    assert plain[0] == bos and plain.count(bos) == 1  # the tokenizer's own BOS stays
    assert encode_prompts(_tokenizer(), [prompt])[0].count(bos) == 1  # tokenizer without BOS
    assert encode_prompts(tokenizer, []) == []


def test_hf_backend_samples_from_single_bos_prompts(tmp_path, monkeypatch):
    tokenizer = _tokenizer(bos=True)
    _scripted_model(tokenizer).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    seen = {}
    real = generate.sample_completions

    def spy(*args, **kwargs):
        seen["prompt_ids"] = kwargs["prompt_ids"]
        return real(*args, **kwargs)

    monkeypatch.setattr(generate, "sample_completions", spy)
    template = {"text": BOS + "<｜User｜>{question}", "stop": ["user"]}
    samples = sample_problems(str(tmp_path), PROBLEMS.head(1), template, 1, 0.0, _settings(), 0)
    assert [ids[:2] for ids in seen["prompt_ids"]] == [[tokenizer.bos_token_id, 259]]
    assert samples.completion.tolist() == ["Ab=7"]


# --- the vLLM backend's wiring (a stand-in engine; the real one below) ---------------------------

class _FakeEngine:
    def __init__(self, tokenizer, outputs):
        self.tokenizer, self.outputs, self.requests = tokenizer, outputs, None
        self.llm_engine = SimpleNamespace(model_config=SimpleNamespace(max_model_len=128),
                                          engine_core=SimpleNamespace(shutdown=lambda: None))

    def get_tokenizer(self):
        return self.tokenizer

    def generate(self, requests, params, use_tqdm=False):
        self.requests, self.params = requests, params
        return self.outputs


def _output(text, finish, stop_reason, token_ids):
    return SimpleNamespace(outputs=[SimpleNamespace(text=text, finish_reason=finish,
                                                    stop_reason=stop_reason, token_ids=token_ids)])


def test_vllm_backend_gets_stop_rules_token_ids_and_dtype(monkeypatch):
    from rlvr_boundary.sampling import vllm_engine

    tokenizer = _tokenizer(bos=True)
    engine = _FakeEngine(tokenizer, [
        _output(" Ab=7", "stop", "user", [1] * 9), _output("Cd", "stop", 258, [1, 2, 258]),
        _output("Fg", "stop", None, [1, 2, 256]), _output("HkW", "length", None, [1, 2, 3])])
    made = {}
    monkeypatch.setattr(vllm_engine, "make_llm", lambda *a, **k: made.update(k) or engine)
    monkeypatch.setattr(vllm_engine, "sampling_params",
                        lambda n, t, p, m, stop, ids: {"stop": stop, "stop_token_ids": ids})
    template = {**STOPS, "text": BOS + "{question}"}
    samples = sample_problems("/model", PROBLEMS, template, 1, 0.6, _settings("vllm"), 0, gpus=1)
    assert made["dtype"] == "float32"
    assert engine.params == {"stop": ["user", "_end"], "stop_token_ids": [258]}
    assert [r["prompt_token_ids"].count(tokenizer.bos_token_id) for r in engine.requests] == [1] * 4
    _check_vllm_frame(samples)


def _check_vllm_frame(samples):
    assert samples.completion.tolist() == ["Ab=7", "Cd", "Fg", "HkW"]
    assert samples.stop_reason.tolist() == ["user", "eos:258", "eos:256", "length"]
    assert samples.completion_tokens.tolist() == [9, 3, 3, 3]


# --- dtype and device ----------------------------------------------------------------------------

def test_device_auto_is_resolved_in_the_job(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device(None) == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    assert resolve_device("cuda") == "cuda" and resolve_device("cpu") == "cpu"
    assert resolve_device("cuda:1") == "cuda:1"


def test_dtype_auto_is_float32_on_cpu_and_bfloat16_on_gpu():
    assert resolve_dtype("auto", "cpu") == "float32"
    assert resolve_dtype("auto", "cuda") == "bfloat16" and resolve_dtype(None, "cuda:0") == "bfloat16"
    assert resolve_dtype("float16", "cpu") == "float16" and resolve_dtype("float32", "cuda") == "float32"
    with pytest.raises(ValueError, match="dtype 'fp8'"):
        resolve_dtype("fp8", "cpu")
    assert set(modeling.DTYPES) == set(yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "schemas/paper.schema.yaml").read_text())
        ["properties"]["sampling"]["properties"]["dtype"]["enum"])


def test_hf_backend_with_auto_dtype_and_device_runs_on_cpu(checkpoint, monkeypatch):
    """dtype auto used to raise "module 'torch' has no attribute 'auto'"."""
    from rlvr_boundary.models import modeling

    loaded = []
    real = modeling.load_checkpoint
    monkeypatch.setattr(modeling, "load_checkpoint",
                        lambda path, device, dtype: loaded.append((device, dtype)) or real(path, device, dtype))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    settings = {k: v for k, v in _settings().items() if k != "dtype"}
    for extra in ({"dtype": "auto"}, {}):
        samples = sample_problems(checkpoint, PROBLEMS, STOPS, 1, 0.0, {**settings, **extra}, 0,
                                  device="auto")
        _check_paper_stops(samples)
    assert loaded == [("cpu", "float32")] * 2


def test_hf_backend_on_a_gpu_defaults_to_bfloat16(monkeypatch):
    from rlvr_boundary.models import modeling

    class Loaded(Exception):
        pass

    def fake_load(path, device, dtype):
        raise Loaded((device, dtype))

    monkeypatch.setattr(modeling, "load_checkpoint", fake_load)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(Loaded) as raised:
        sample_problems("/model", PROBLEMS, STOPS, 1, 0.6, _settings(dtype="auto"), 0, "auto")
    assert raised.value.args[0] == ("cuda", "bfloat16")
    with pytest.raises(Loaded) as raised:
        sample_problems("/model", PROBLEMS, STOPS, 1, 0.6, _settings(dtype="auto"), 0, "cpu")
    assert raised.value.args[0] == ("cpu", "float32")


def test_vllm_dtype_auto_follows_the_backend(monkeypatch):
    from rlvr_boundary.sampling import vllm_engine

    made = []

    def fake_make(*args, **kwargs):
        made.append(kwargs["dtype"])
        raise RuntimeError("stop here")

    monkeypatch.setattr(vllm_engine, "make_llm", fake_make)
    for backend in ("vllm", "vllm-cpu"):
        with pytest.raises(RuntimeError, match="stop here"):
            sample_problems("/model", PROBLEMS, STOPS, 1, 0.6, _settings(backend, dtype="auto"), 0)
    assert made == ["bfloat16", "float32"]


# --- the real vLLM engine (vLLM's CPU build; skipped where vllm is not installed) --------------

@pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                    reason="vllm is not installed here (.venv-vllm has it)")
def test_vllm_cpu_stops_as_the_hf_backend(checkpoint):
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB
    vllm = sample_problems(checkpoint, PROBLEMS, STOPS, 1, 0.0, _settings("vllm-cpu"), 0)
    _check_paper_stops(vllm)
    hf = sample_problems(checkpoint, PROBLEMS, STOPS, 1, 0.0, _settings(), 0)
    pd.testing.assert_frame_equal(vllm, hf)
