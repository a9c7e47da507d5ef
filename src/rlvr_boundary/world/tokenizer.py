"""A character-level tokenizer for the tiny world, saved in Hugging Face format.

Every character of the world's alphabet is one token, so log-probabilities and lengths
are per character. It is a real ``PreTrainedTokenizerFast``: ``AutoTokenizer`` loads it
back from a model folder (with a Llama config; docs/tiny_world.md says why not Qwen2's).
"""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

from .task import ANSWER_SEPARATOR, OPERATORS

SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
ALPHABET = "0123456789" + "".join(OPERATORS) + "=" + ANSWER_SEPARATOR


def build_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS.values())}
    for char in ALPHABET:
        vocab[char] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIAL_TOKENS["unk_token"]))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    bos = SPECIAL_TOKENS["bos_token"]
    core.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", special_tokens=[(bos, vocab[bos])])
    return PreTrainedTokenizerFast(tokenizer_object=core, padding_side="left", **SPECIAL_TOKENS)
