"""The tiny world: its arithmetic task, data splits and character tokenizer."""
