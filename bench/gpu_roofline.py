"""Measured prefill/decode throughput and energy of a real-shaped model vs unitcost's roofline.

Builds a Llama-style decoder (RMSNorm, GQA attention with a preallocated KV cache through
scaled_dot_product_attention, rotary embeddings, SwiGLU MLP, untied lm_head) with RANDOM bf16
weights in plain torch, in the shape of a catalog model (default llama-3.1-8b), loads nothing
from disk, and for each batch size measures

  * prefill: prompt tokens/s of one forward over batch × prompt (median of repeats),
  * decode: output tokens/s over `--steps` greedy steps with the KV cache (CUDA graph
    replay of one step on a GPU, eager on CPU),
  * NVML board energy during each phase (J per token and per 1K tokens),

then sets each beside `unitcost.economics.roofline` for the same model, accelerator, bf16
and batch: measured ÷ roofline, and the implied MFU (prefill FLOPs ÷ (time × peak)) and MBU
(bytes per decode step ÷ (step time × bandwidth)), counted the way unitcost's calibration
counts them.

    python bench/gpu_roofline.py                          # GPU: llama-3.1-8b, batches 1,8,32,64
    python bench/gpu_roofline.py --batches 1,16 --prompt 1024 --steps 128 --out /tmp/r.json
    python bench/gpu_roofline.py --device cpu --tiny      # CPU smoke test of every code path
    python bench/gpu_roofline.py --compare bench/out/gpu_roofline.json   # roofline columns later

unitcost needs pydantic, numpy and pyyaml. Where the measuring machine lacks them, the script
still measures and writes the JSON (the catalog shape is read from the YAML with pyyaml or
built in), and `--compare` adds the roofline columns wherever unitcost imports.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"

#: intermediate_size of meta-llama/Llama-3.1-8B (HF config.json: "intermediate_size": 14336);
#: unitcost's catalog keeps no MLP width, so it is given here (and by --intermediate).
INTERMEDIATE = {"llama-3.1-8b": 14336}
ROPE_THETA = (
    500_000.0  # HF config.json of Llama-3.1 ("rope_theta": 500000.0); llama3 scaling left out
)
DEFAULT_OUT = REPO / "bench" / "out" / "gpu_roofline.json"

torch: Any = None
F: Any = None


def _need_torch() -> None:
    global torch, F
    if torch is None:
        import torch as _torch
        import torch.nn.functional as _f

        torch, F = _torch, _f


def say(*parts: object) -> None:
    print(*parts, flush=True)


# ---------------------------------------------------------------------------------------------
# unitcost (optional at measuring time) and the catalog rows


def _unitcost() -> tuple[Any, str | None]:
    """The unitcost modules this script uses, or None and why not."""
    for attempt in range(2):
        try:
            from unitcost.catalog import load_catalog

            # the module, not the function unitcost.economics re-exports under the same name
            rl = importlib.import_module("unitcost.economics.roofline")
            return {"load_catalog": load_catalog, "rl": rl}, None
        except ImportError as exc:
            if attempt == 0 and str(SRC) not in sys.path:
                sys.path.insert(0, str(SRC))
                for name in [
                    m for m in sys.modules if m == "unitcost" or m.startswith("unitcost.")
                ]:
                    del sys.modules[name]
                continue
            return None, f"unitcost not importable ({exc.__class__.__name__}: {exc})"
    return None, "unitcost not importable"


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


def _yaml_rows(section: str) -> list[dict[str, Any]]:
    import yaml

    part = "models" if section == "models" else "accelerators"
    path = SRC / "unitcost" / "catalog" / "data" / f"{part}.yaml"
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))[section])


def catalog_row(uc: Any, section: str, name: str) -> dict[str, Any]:
    """A catalog model or accelerator as a plain dict: through unitcost, else from its YAML."""
    if uc is not None:
        cat = uc["load_catalog"]()
        row = cat.model(name) if section == "models" else cat.accelerator(name)
        return dict(row.model_dump())
    for row in _yaml_rows(section):
        if _key(name) in {_key(row["name"]), *(_key(a) for a in row.get("aliases", []))}:
            return dict(row)
    raise SystemExit(f"{name!r} is not in the catalog's {section}")


def detect_hardware(device_name: str) -> str:
    upper = device_name.upper()
    if "H200" in upper:
        return "H200"
    if "H100" in upper:
        if "PCIE" in upper or "NVL" in upper:
            say(f"note: {device_name} is not the SXM part; comparing with H100-SXM anyway")
        return "H100-SXM"
    say(f"note: cannot map {device_name!r} to the catalog; using H100-SXM (pass --hardware)")
    return "H100-SXM"


# ---------------------------------------------------------------------------------------------
# the model


@dataclass(frozen=True)
class Shape:
    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    intermediate: int
    catalog_model: str | None  # None for --tiny

    @property
    def kv_bytes_per_token(self) -> int:
        return self.layers * 2 * self.kv_heads * self.head_dim * 2  # bf16

    def param_count(self) -> int:
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        per_layer = (
            self.hidden * (q + 2 * kv)
            + q * self.hidden
            + 3 * self.hidden * self.intermediate
            + 2 * self.hidden
        )
        return self.layers * per_layer + 2 * self.vocab * self.hidden + self.hidden


TINY = Shape("tiny", 2, 256, 4, 2, 64, 1000, 512, None)
#: the float32 model the decode check runs: 4 query heads per KV head, as in Llama-3.1-8B
CHECK_SHAPE = Shape("check", 2, 256, 8, 2, 32, 1000, 512, None)


def _rms(x: Any, w: Any, eps: float = 1e-5) -> Any:
    if hasattr(F, "rms_norm"):
        return F.rms_norm(x, (x.shape[-1],), w, eps)
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * w


def _rotate(x: Any, cos: Any, sin: Any) -> Any:
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class DecodeState:
    """Static buffers for one batch: KV cache, next tokens, position; graph-capturable."""

    def __init__(self, model: Llama, batch: int, max_len: int) -> None:
        s, dev = model.shape, model.device
        self.batch, self.max_len = batch, max_len
        # zeros, not empty: masked positions get weight 0, and 0 × NaN would still be NaN
        self.kv = torch.zeros(
            s.layers, 2, batch, s.kv_heads, max_len, s.head_dim, device=dev, dtype=model.dtype
        )
        self.tokens = torch.zeros(batch, dtype=torch.long, device=dev)
        self.pos = torch.zeros(1, dtype=torch.long, device=dev)
        self.logits = torch.zeros(batch, s.vocab, dtype=torch.float32, device=dev)
        self.positions = torch.arange(max_len, device=dev)


class Llama:
    """Llama-style decoder over plain tensors (fused qkv and gate/up projections)."""

    def __init__(
        self, shape: Shape, device: str, max_len: int, seed: int = 0, dtype: Any = None
    ) -> None:
        self.shape, self.device, self.dtype = shape, device, dtype or torch.bfloat16
        s = shape
        gen = torch.Generator(device=device).manual_seed(seed)

        def rand(rows: int, cols: int, gain: float = 1.0) -> Any:
            # variance-preserving (1/fan-in) init: activations stay O(1) and attention is far
            # from uniform, so the decode check below notices a wrong position or cache entry
            std = gain / math.sqrt(cols)
            return torch.empty(rows, cols, device=device, dtype=self.dtype).normal_(
                0.0, std, generator=gen
            )

        def ones(n: int) -> Any:
            return torch.ones(n, device=device, dtype=self.dtype)

        q, kv = s.heads * s.head_dim, s.kv_heads * s.head_dim
        out_gain = 1.0 / math.sqrt(2 * s.layers)
        self.embed = rand(s.vocab, s.hidden, gain=math.sqrt(s.hidden))  # unit-variance rows
        self.layers = [
            {
                "attn_norm": ones(s.hidden),
                "wqkv": rand(q + 2 * kv, s.hidden),
                "wo": rand(s.hidden, q, gain=out_gain),
                "mlp_norm": ones(s.hidden),
                "w_gate_up": rand(2 * s.intermediate, s.hidden),
                "w_down": rand(s.hidden, s.intermediate, gain=out_gain),
            }
            for _ in range(s.layers)
        ]
        self.final_norm = ones(s.hidden)
        self.lm_head = rand(s.vocab, s.hidden)
        inv = 1.0 / (
            ROPE_THETA ** (torch.arange(0, s.head_dim, 2, device=device).float() / s.head_dim)
        )
        angles = torch.outer(torch.arange(max_len, device=device).float(), inv)
        angles = torch.cat((angles, angles), dim=-1)
        self.cos, self.sin = angles.cos().to(self.dtype), angles.sin().to(self.dtype)

    def param_count(self) -> int:
        tensors = [self.embed, self.final_norm, self.lm_head]
        tensors += [t for layer in self.layers for t in layer.values()]
        return sum(int(t.numel()) for t in tensors)

    def _mlp(self, x: Any, layer: dict[str, Any]) -> Any:
        gate, up = F.linear(_rms(x, layer["mlp_norm"]), layer["w_gate_up"]).chunk(2, dim=-1)
        return x + F.linear(F.silu(gate) * up, layer["w_down"])

    def prefill(self, ids: Any, st: DecodeState) -> Any:
        """One forward over the prompts [B, P]: fills the cache, returns last-position logits."""
        s = self.shape
        b, p = ids.shape
        group = s.heads // s.kv_heads
        cos, sin = self.cos[:p], self.sin[:p]
        x = F.embedding(ids, self.embed)
        for i, layer in enumerate(self.layers):
            qkv = F.linear(_rms(x, layer["attn_norm"]), layer["wqkv"])
            q, k, v = qkv.split(
                [s.heads * s.head_dim, s.kv_heads * s.head_dim, s.kv_heads * s.head_dim], -1
            )
            q = _rotate(q.view(b, p, s.heads, s.head_dim).transpose(1, 2), cos, sin)
            k = _rotate(k.view(b, p, s.kv_heads, s.head_dim).transpose(1, 2), cos, sin)
            v = v.view(b, p, s.kv_heads, s.head_dim).transpose(1, 2)
            st.kv[i, 0, :, :, :p] = k
            st.kv[i, 1, :, :, :p] = v
            # repeat KV heads explicitly: keeps the fused causal (flash) kernel on every torch
            k = (
                k[:, :, None]
                .expand(b, s.kv_heads, group, p, s.head_dim)
                .reshape(b, s.heads, p, s.head_dim)
            )
            v = (
                v[:, :, None]
                .expand(b, s.kv_heads, group, p, s.head_dim)
                .reshape(b, s.heads, p, s.head_dim)
            )
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + F.linear(o.transpose(1, 2).reshape(b, p, s.heads * s.head_dim), layer["wo"])
            x = self._mlp(x, layer)
        logits = F.linear(_rms(x[:, -1], self.final_norm), self.lm_head).float()
        st.logits.copy_(logits)
        st.tokens.copy_(logits.argmax(-1))
        st.pos.fill_(p)
        return logits

    def step(self, st: DecodeState) -> None:
        """One greedy decode step for the whole batch; only tensor ops, so a CUDA graph can
        replay it: reads st.tokens and st.pos, writes the cache, st.logits, st.tokens, st.pos."""
        s = self.shape
        b, group = st.batch, s.heads // s.kv_heads
        cos, sin = self.cos.index_select(0, st.pos), self.sin.index_select(0, st.pos)
        zero = torch.zeros((), dtype=self.dtype, device=self.device)
        mask = torch.where(st.positions <= st.pos, zero, float("-inf")).view(1, 1, 1, -1)
        x = F.embedding(st.tokens, self.embed)
        for i, layer in enumerate(self.layers):
            qkv = F.linear(_rms(x, layer["attn_norm"]), layer["wqkv"])
            q, k, v = qkv.split(
                [s.heads * s.head_dim, s.kv_heads * s.head_dim, s.kv_heads * s.head_dim], -1
            )
            # GQA without copying the cache: the `group` query heads of one KV head act as
            # `group` query rows over that head's keys (head h uses KV head h // group)
            q = _rotate(q.view(b, s.kv_heads, group, s.head_dim), cos, sin)
            k = _rotate(k.view(b, s.kv_heads, 1, s.head_dim), cos, sin)
            v = v.view(b, s.kv_heads, 1, s.head_dim)
            st.kv[i, 0].index_copy_(2, st.pos, k)
            st.kv[i, 1].index_copy_(2, st.pos, v)
            o = F.scaled_dot_product_attention(q, st.kv[i, 0], st.kv[i, 1], attn_mask=mask)
            x = x + F.linear(o.reshape(b, s.heads * s.head_dim), layer["wo"])
            x = self._mlp(x, layer)
        logits = F.linear(_rms(x, self.final_norm), self.lm_head).float()
        st.logits.copy_(logits)
        st.tokens.copy_(logits.argmax(-1))
        st.pos.add_(1)


class Decoder:
    """Runs `steps` decode steps from the prompt end: CUDA graph replay where it works."""

    def __init__(self, model: Llama, st: DecodeState, prompt: int, use_graph: bool) -> None:
        self.model, self.st, self.prompt = model, st, prompt
        self.graph: Any = None
        self.graph_error: str | None = None
        if use_graph:
            try:
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                tokens = st.tokens.clone()
                with torch.cuda.stream(side):
                    for _ in range(3):  # warm-up steps all write position `prompt` only
                        st.pos.fill_(prompt)
                        model.step(st)
                torch.cuda.current_stream().wait_stream(side)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    model.step(st)
                self.graph = graph
                st.tokens.copy_(tokens)  # the prefill's next tokens again
                st.pos.fill_(prompt)
            except Exception as exc:  # fall back to eager, and say so
                self.graph_error = f"{exc.__class__.__name__}: {exc}"[:200]
                say(f"    CUDA graph capture failed, decoding eagerly ({self.graph_error})")

    def step(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        else:
            self.model.step(self.st)

    def run(self, steps: int) -> None:
        self.st.pos.fill_(self.prompt)
        for _ in range(steps):
            self.step()


# ---------------------------------------------------------------------------------------------
# timing and energy


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn: Any, device: str, repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    _sync(device)
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        out.append(time.perf_counter() - t0)
    return out


def _power_sampler_class() -> Any:
    """unitcost.bench.energy.PowerSampler; by file path when the unitcost.bench package (which
    needs httpx and more) does not import."""
    try:
        from unitcost.bench.energy import PowerSampler

        return PowerSampler
    except Exception:
        path = SRC / "unitcost" / "bench" / "energy.py"
        spec = importlib.util.spec_from_file_location("_unitcost_energy", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}") from None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.PowerSampler


class Energy:
    """NVML energy over a window: the board's energy counter where it has one (mJ since the
    driver loaded), and PowerSampler's 100 ms trapezoid of board power beside it."""

    def __init__(self, gpu_index: int | None) -> None:
        self.gpu_index = gpu_index
        self.reason: str | None = None
        self.sampler_cls: Any = None
        self.handle: Any = None
        self.nvml: Any = None
        if gpu_index is None:
            self.reason = "no NVML on CPU"
            return
        try:
            self.sampler_cls = _power_sampler_class()
        except Exception as exc:
            self.reason = f"PowerSampler unavailable ({exc.__class__.__name__}: {exc})"[:200]
        try:
            import pynvml

            pynvml.nvmlInit()
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(gpu_index)
            pynvml.nvmlDeviceGetTotalEnergyConsumption(self.handle)
            self.nvml = pynvml
        except Exception as exc:
            self.handle = None
            self.reason = (
                self.reason or ""
            ) + f" energy counter unavailable ({exc.__class__.__name__})"

    @property
    def available(self) -> bool:
        return self.sampler_cls is not None or self.handle is not None

    def measure(self, fn: Any, device: str, min_seconds: float) -> dict[str, Any]:
        """Run fn until min_seconds have passed; energy of the window and the work count."""
        calls = 0
        sampler = self.sampler_cls(gpus=[self.gpu_index]) if self.sampler_cls else None
        if sampler is not None and not sampler.available:
            sampler = None
        mj0 = self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) if self.handle else None
        with sampler if sampler is not None else contextlib.nullcontext():
            t0 = time.perf_counter()
            while True:
                fn()
                calls += 1
                _sync(device)
                if time.perf_counter() - t0 >= min_seconds:
                    break
            seconds = time.perf_counter() - t0
        mj1 = self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) if self.handle else None
        counter_j = (mj1 - mj0) / 1000.0 if mj0 is not None and mj1 is not None else None
        sampled_j = sampler.joules if sampler is not None else None
        joules = counter_j if counter_j is not None else sampled_j
        return {
            "calls": calls,
            "seconds": seconds,
            "joules": joules,
            "joules_source": "nvml energy counter"
            if counter_j is not None
            else "nvml power samples",
            "joules_counter": counter_j,
            "joules_sampled": sampled_j,
            "mean_watts": joules / seconds if joules is not None else None,
            "samples": len(sampler.samples) if sampler is not None else 0,
        }

    def idle_watts(self) -> float | None:
        if self.handle is None:
            return None
        return float(self.nvml.nvmlDeviceGetPowerUsage(self.handle)) / 1000.0


# ---------------------------------------------------------------------------------------------
# measuring


def check_decode(
    model: Llama, prompt: int, steps: int, device: str, use_graph: bool, tolerance: float
) -> dict[str, Any]:
    """Cached (graph) decode against one cacheless forward over the whole sequence."""
    st = DecodeState(model, 1, -(-(prompt + steps) // 64) * 64)
    gen = torch.Generator(device=device).manual_seed(1)
    ids = torch.randint(0, model.shape.vocab, (1, prompt), device=device, generator=gen)
    model.prefill(ids, st)
    seq = [ids, st.tokens.view(1, 1).clone()]
    dec = Decoder(model, st, prompt, use_graph)
    st.pos.fill_(prompt)
    for i in range(steps - 1):  # step i consumes generated token i + 1
        dec.step()
        if i < steps - 2:
            seq.append(st.tokens.view(1, 1).clone())
    full = torch.cat(seq, dim=1)
    ref_state = DecodeState(model, 1, -(-int(full.shape[1]) // 64) * 64)
    reference = model.prefill(full, ref_state)
    got = st.logits
    rel = float((got - reference).abs().max() / reference.abs().max().clamp_min(1e-9))
    same = bool(int(got.argmax()) == int(reference.argmax()))
    del st, ref_state, dec
    return {
        "tokens": int(full.shape[1]),
        "max_rel_logit_diff": rel,
        "same_argmax": same,
        "tolerance": tolerance,
        "ok": rel < tolerance,
    }


def fits(model: Llama, batch: int, prompt: int, max_len: int, device: str) -> tuple[bool, str]:
    s = model.shape
    kv = batch * max_len * s.kv_bytes_per_token
    # prefill activations: residual, norms, qkv, repeated KV, attention out (~10 × hidden)
    # plus gate/up/silu (~4 × intermediate) per token in bf16, and fp32 logits
    act = batch * prompt * (10 * s.hidden + 4 * s.intermediate) * 2 + batch * s.vocab * 8
    need = kv + act + 1.5e9
    if not device.startswith("cuda"):
        return True, f"needs ~{need / 1e9:.1f} GB besides weights"
    free, _ = torch.cuda.mem_get_info()
    ok = need < 0.92 * free
    return (
        ok,
        f"KV cache {kv / 1e9:.1f} GB + activations ~{act / 1e9:.1f} GB + 1.5 GB slack vs {free / 1e9:.1f} GB free",
    )


def measure_batch(
    model: Llama, energy: Energy, args: argparse.Namespace, batch: int
) -> dict[str, Any]:
    dev, prompt, steps = args.device, args.prompt, args.steps
    max_len = -(-(prompt + steps) // 64) * 64  # aligned length keeps the fused attention kernels
    ok, why = fits(model, batch, prompt, max_len, dev)
    row: dict[str, Any] = {"batch": batch, "memory_check": why}
    if not ok:
        say(f"  batch {batch}: SKIPPED, would not fit ({why})")
        row["skipped"] = "would not fit: " + why
        return row
    if dev.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    st = DecodeState(model, batch, max_len)
    gen = torch.Generator(device=dev).manual_seed(100 + batch)
    ids = torch.randint(0, model.shape.vocab, (batch, prompt), device=dev, generator=gen)

    say(f"  batch {batch}: prefill {batch}×{prompt} tokens ...")
    times = timed(lambda: model.prefill(ids, st), dev, args.repeats, args.warmup)
    t_prefill = statistics.median(times)
    row["prefill"] = {
        "seconds_median": t_prefill,
        "seconds_all": times,
        "tokens": batch * prompt,
        "tokens_per_s": batch * prompt / t_prefill,
    }
    if energy.available:
        e = energy.measure(lambda: model.prefill(ids, st), dev, args.energy_seconds)
        e["tokens"] = e["calls"] * batch * prompt
        row["prefill"]["energy"] = e

    say(f"  batch {batch}: decode {steps} steps ...")
    model.prefill(ids, st)
    dec = Decoder(model, st, prompt, use_graph=dev.startswith("cuda") and not args.no_graph)
    times = timed(lambda: dec.run(steps), dev, max(3, args.repeats // 2), 1)
    t_decode = statistics.median(times)
    row["decode"] = {
        "seconds_median": t_decode,
        "seconds_all": times,
        "steps": steps,
        "step_ms": 1000.0 * t_decode / steps,
        "tokens_per_s": batch * steps / t_decode,
        "cuda_graph": dec.graph is not None,
        "graph_error": dec.graph_error,
    }
    if energy.available:
        e = energy.measure(lambda: dec.run(steps), dev, args.energy_seconds)
        e["tokens"] = e["calls"] * batch * steps
        row["decode"]["energy"] = e
    for phase in ("prefill", "decode"):
        e = row[phase].get("energy")
        if e and e["joules"] is not None:
            e["joules_per_token"] = e["joules"] / e["tokens"]
            e["joules_per_1k_tokens"] = 1000.0 * e["joules"] / e["tokens"]
    if dev.startswith("cuda"):
        row["peak_memory_gb"] = torch.cuda.max_memory_allocated() / 1e9
    row["kv_cache_gb"] = float(st.kv.numel() * st.kv.element_size()) / 1e9
    return row


# ---------------------------------------------------------------------------------------------
# the roofline comparison (needs unitcost)


def _model_shape(uc: Any, shape: dict[str, Any], params: int, notes: list[str]) -> Any:
    cat = uc["load_catalog"]()
    if shape["catalog_model"]:
        model = cat.model(shape["catalog_model"])
        if abs(params / 1e9 - model.params_total_b) / model.params_total_b > 0.02:
            notes.append(
                f"built model has {params / 1e9:.2f}B params, catalog {model.params_total_b}B: "
                "roofline uses the built count"
            )
            model = model.model_copy(
                update={"params_total_b": params / 1e9, "params_active_b": params / 1e9}
            )
        return model
    from unitcost.catalog import ModelShape

    return ModelShape(
        name=shape["name"],
        params_total_b=params / 1e9,
        params_active_b=params / 1e9,
        layers=shape["layers"],
        hidden_size=shape["hidden"],
        attention_heads=shape["heads"],
        kv_heads=shape["kv_heads"],
        head_dim=shape["head_dim"],
        vocab_size=shape["vocab"],
        context_tokens=8192,
        source="bench/gpu_roofline.py --tiny: a random smoke-test shape",
    )


def compare(report: dict[str, Any], uc: Any) -> None:
    """Adds roofline, measured ÷ roofline, implied MFU and MBU to each measured row."""
    rl = uc["rl"]
    notes: list[str] = report.setdefault("notes", [])
    cat = uc["load_catalog"]()
    acc = cat.accelerator(report["config"]["hardware"])
    model = _model_shape(uc, report["model"], report["model"]["params"], notes)
    prompt, steps = report["config"]["prompt"], report["config"]["steps"]
    peak = acc.peak_tflops("bf16") * 1e12
    bandwidth = acc.memory_bandwidth_gb_s * 1e9
    from unitcost.economics.calibration import workload_output_rate

    for row in report["results"]:
        if "prefill" not in row:
            continue
        b = row["batch"]
        try:
            t = rl.roofline(
                rl.RooflineInputs(
                    acc, model, "bf16", batch_size=b, input_tokens=prompt, output_tokens=steps
                )
            )
        except Exception as exc:
            row["roofline"] = {"error": f"{exc.__class__.__name__}: {exc}"}
            continue
        flops = (
            b
            * prompt
            * float(
                2 * model.params_active_b * 1e9 + rl.attention_flops_per_token(model, prompt / 2)
            )
        )
        context = prompt + steps / 2
        step_bytes = (
            float(rl.weight_bytes_per_step(model, 2.0, b))
            + b * context * model.kv_elements_per_token * 2.0
        )
        pre, dec = row["prefill"], row["decode"]
        step_s = dec["seconds_median"] / steps
        measured_rate = workload_output_rate(
            pre["tokens_per_s"], dec["tokens_per_s"], prompt, steps
        )
        roof_rate = workload_output_rate(
            float(t.prefill_tokens_per_s), float(t.decode_tokens_per_s), prompt, steps
        )
        row["roofline"] = {
            "accelerator": acc.name,
            "prefill_tokens_per_s": float(t.prefill_tokens_per_s),
            "decode_tokens_per_s": float(t.decode_tokens_per_s),
            "decode_bound": t.decode_bound,
            "memory_needed_gb": float(t.memory_needed_gb),
            "source": t.source,
            "prefill_ratio": pre["tokens_per_s"] / float(t.prefill_tokens_per_s),
            "decode_ratio": dec["tokens_per_s"] / float(t.decode_tokens_per_s),
            "implied_mfu": flops / (pre["seconds_median"] * peak),
            "implied_mbu": step_bytes / (step_s * bandwidth),
            "prefill_flops": flops,
            "decode_step_bytes": step_bytes,
            "workload_output_tokens_per_s": measured_rate,
            "roofline_workload_output_tokens_per_s": roof_rate,
            "workload_ratio": measured_rate / roof_rate,
        }
    report["roofline_defaults"] = {
        "mfu": rl.DEFAULT_MFU,
        "bandwidth_efficiency": rl.DEFAULT_BANDWIDTH_EFFICIENCY,
    }


# ---------------------------------------------------------------------------------------------
# printing


def _f(value: Any, spec: str = ",.0f") -> str:
    return "-" if value is None else format(value, spec)


def print_tables(report: dict[str, Any]) -> None:
    cfg = report["config"]
    say()
    say(
        f"{report['model']['name']} (random bf16 weights, {report['model']['params'] / 1e9:.2f}B params) "
        f"on {report['env']['device_name']}, prompt {cfg['prompt']}, {cfg['steps']} decode steps; "
        f"roofline: {cfg['hardware']} bf16"
    )
    head = (
        f"{'batch':>5} {'prefill tok/s':>14} {'roofline':>11} {'ratio':>6} {'MFU':>6}   "
        f"{'decode tok/s':>13} {'roofline':>10} {'ratio':>6} {'MBU':>6} {'bound':>7} {'step ms':>8} {'graph':>5}"
    )
    say(head)
    say("-" * len(head))
    for row in report["results"]:
        if "skipped" in row:
            say(f"{row['batch']:>5}  skipped: {row['skipped']}")
            continue
        pre, dec, r = row["prefill"], row["decode"], row.get("roofline") or {}
        say(
            f"{row['batch']:>5} {_f(pre['tokens_per_s']):>14} {_f(r.get('prefill_tokens_per_s')):>11} "
            f"{_f(r.get('prefill_ratio'), '.2f'):>6} {_f(r.get('implied_mfu'), '.1%'):>6}   "
            f"{_f(dec['tokens_per_s']):>13} {_f(r.get('decode_tokens_per_s')):>10} "
            f"{_f(r.get('decode_ratio'), '.2f'):>6} {_f(r.get('implied_mbu'), '.1%'):>6} "
            f"{r.get('decode_bound', '-'):>7} {dec['step_ms']:>8.2f} {'yes' if dec['cuda_graph'] else 'no':>5}"
        )
    head = (
        f"{'batch':>5} {'prefill W':>10} {'J/1K prompt':>12} {'decode W':>9} {'J/1K output':>12} "
        f"{'workload out tok/s':>19} {'roofline':>9} {'ratio':>6} {'peak GB':>8} {'KV GB':>6}"
    )
    say()
    say(head)
    say("-" * len(head))
    for row in report["results"]:
        if "skipped" in row:
            continue
        pe, de = row["prefill"].get("energy") or {}, row["decode"].get("energy") or {}
        r = row.get("roofline") or {}
        say(
            f"{row['batch']:>5} {_f(pe.get('mean_watts')):>10} {_f(pe.get('joules_per_1k_tokens'), ',.1f'):>12} "
            f"{_f(de.get('mean_watts')):>9} {_f(de.get('joules_per_1k_tokens'), ',.1f'):>12} "
            f"{_f(r.get('workload_output_tokens_per_s')):>19} {_f(r.get('roofline_workload_output_tokens_per_s')):>9} "
            f"{_f(r.get('workload_ratio'), '.2f'):>6} {_f(row.get('peak_memory_gb'), '.1f'):>8} "
            f"{_f(row.get('kv_cache_gb'), '.2f'):>6}"
        )
    say()
    say(
        "ratio = measured ÷ roofline (roofline assumes MFU "
        f"{_f(report.get('roofline_defaults', {}).get('mfu'), '.2f')} and bandwidth efficiency "
        f"{_f(report.get('roofline_defaults', {}).get('bandwidth_efficiency'), '.2f')}); MFU = prefill FLOPs "
        "(2·N + causal attention, unitcost's count) ÷ (time × dense peak); MBU = (weights + mean KV "
        "cache) bytes per step ÷ (step time × bandwidth); workload = output tok/s of prefill then "
        "decode in turn (unitcost.economics.calibration.workload_output_rate)"
    )
    for note in report.get("notes", []):
        say(f"note: {note}")


# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="llama-3.1-8b", help="catalog model whose shape is built")
    p.add_argument(
        "--intermediate",
        type=int,
        default=None,
        help="MLP width; default 14336 for llama-3.1-8b (HF config.json intermediate_size)",
    )
    p.add_argument(
        "--hardware", default=None, help="catalog accelerator (default: from the GPU's name)"
    )
    p.add_argument("--batches", default=None, help="comma list (default 1,8,32,64; tiny 1,2)")
    p.add_argument("--prompt", type=int, default=None, help="prompt tokens (default 512; tiny 32)")
    p.add_argument("--steps", type=int, default=None, help="decode steps (default 64; tiny 4)")
    p.add_argument(
        "--repeats", type=int, default=5, help="timed prefill repeats (decode: half, at least 3)"
    )
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument(
        "--energy-seconds",
        type=float,
        default=None,
        help="length of each NVML energy window (default 3 s on a GPU)",
    )
    p.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    p.add_argument("--tiny", action="store_true", help="tiny random shape for a smoke test")
    p.add_argument("--no-graph", action="store_true", help="decode eagerly, without a CUDA graph")
    p.add_argument("--no-check", action="store_true", help="skip the cache-vs-full-forward check")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument(
        "--compare",
        type=Path,
        default=None,
        help="only add roofline columns to a JSON written earlier, print, write --out",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    uc, uc_reason = _unitcost()
    if args.compare is not None:
        if uc is None:
            raise SystemExit(uc_reason)
        report = json.loads(args.compare.read_text(encoding="utf-8"))
        report["notes"] = [n for n in report.get("notes", []) if not n.startswith("no roofline")]
        compare(report, uc)
        print_tables(report)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        say(f"wrote {args.out}")
        return 0

    _need_torch()
    t_start = time.perf_counter()
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise SystemExit("--device cuda but torch sees no GPU")
    args.batches = [
        int(b) for b in (args.batches or ("1,2" if args.tiny else "1,8,32,64")).split(",")
    ]
    args.prompt = args.prompt or (32 if args.tiny else 512)
    args.steps = args.steps or (4 if args.tiny else 64)
    if args.energy_seconds is None:
        args.energy_seconds = 3.0 if cuda else 0.0
    if args.steps < 2:
        raise SystemExit("--steps must be at least 2")
    device_name = (
        torch.cuda.get_device_name() if cuda else (platform.processor() or platform.machine())
    )
    args.hardware = args.hardware or (detect_hardware(device_name) if cuda else "H100-SXM")
    accelerator = catalog_row(uc, "accelerators", args.hardware)
    args.hardware = accelerator["name"]

    if args.tiny:
        shape = TINY
    else:
        row = catalog_row(uc, "models", args.model)
        if row.get("experts"):
            raise SystemExit(
                f"{row['name']} is a mixture of experts; this script builds dense models only"
            )
        intermediate = args.intermediate or INTERMEDIATE.get(row["name"])
        if intermediate is None:
            raise SystemExit(
                f"--intermediate is needed for {row['name']} (the catalog keeps no MLP width)"
            )
        shape = Shape(
            row["name"],
            row["layers"],
            row["hidden_size"],
            row["attention_heads"],
            row["kv_heads"],
            row["head_dim"],
            row["vocab_size"],
            intermediate,
            row["name"],
        )

    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": args.device,
        "device_name": device_name,
    }
    if cuda:
        props = torch.cuda.get_device_properties(0)
        env.update(
            sm_count=props.multi_processor_count,
            memory_total_gb=props.total_memory / 1e9,
            capability=f"{props.major}.{props.minor}",
        )
        with contextlib.suppress(Exception):
            import pynvml

            pynvml.nvmlInit()
            env["driver"] = pynvml.nvmlSystemGetDriverVersion()
    say(f"torch {env['torch']}, CUDA {env['cuda']}, device {args.device}: {device_name}")
    say(
        f"model {shape.name}: {shape.layers} layers, hidden {shape.hidden}, {shape.heads} heads, "
        f"{shape.kv_heads} KV heads, head_dim {shape.head_dim}, intermediate {shape.intermediate}, "
        f"vocab {shape.vocab}; roofline vs {args.hardware}"
    )
    if uc is None:
        say(f"note: {uc_reason}; measuring anyway, add the roofline later with --compare")
    notes: list[str] = []
    if not cuda:
        notes.append(
            f"CPU run: the comparison with the {args.hardware} roofline only exercises the code "
            "path; its ratios, MFU and MBU mean nothing"
        )
    if args.tiny:
        notes.append("--tiny: a random smoke-test shape, not a catalog model")

    torch.manual_seed(0)
    max_len_model = -(-(args.prompt + args.steps) // 64) * 64
    say("building random weights ...")
    model = Llama(shape, args.device, max_len_model)
    params = model.param_count()
    assert params == shape.param_count()
    weights_gb = params * 2 / 1e9
    if cuda:
        torch.cuda.synchronize()
        free, total = torch.cuda.mem_get_info()
        env["weights_gb"] = weights_gb
        say(
            f"weights {weights_gb:.2f} GB ({params / 1e9:.3f}B params); GPU memory used "
            f"{(total - free) / 1e9:.1f} of {total / 1e9:.1f} GB"
        )
    else:
        say(f"weights {weights_gb:.3f} GB ({params / 1e6:.1f}M params)")

    energy = Energy(0 if cuda else None)
    if cuda and not energy.available:
        notes.append(f"no energy figures: {energy.reason}")
    if energy.handle is not None:
        env["idle_watts_before"] = energy.idle_watts()

    checks = {}
    if not args.no_check:
        say("checking cached decode against a full forward ...")
        # strict: a small float32 model through the same code (and CUDA graph), where a wrong
        # position, mask, cache slot or head grouping moves the logits by 1e-2 or more and an
        # honest run by about 1e-6; then the real bf16 model, where rounding alone gives ~1e-2
        small = Llama(CHECK_SHAPE, args.device, 64, seed=7, dtype=torch.float32)
        use_graph = cuda and not args.no_graph
        checks["float32_small"] = check_decode(small, 32, 8, args.device, use_graph, 1e-3)
        del small
        checks["bf16_model"] = check_decode(
            model, min(args.prompt, 128), min(args.steps, 16), args.device, use_graph, 0.2
        )
        for name, c in checks.items():
            say(
                f"  {name}: max relative logit difference {c['max_rel_logit_diff']:.1e} "
                f"(tolerance {c['tolerance']:g}), same argmax {c['same_argmax']} -> "
                f"{'ok' if c['ok'] else 'MISMATCH'}"
            )
            if not c["ok"]:
                notes.append(
                    f"decode check {name} failed: cached decode disagrees with a full forward"
                )

    results = []
    for batch in args.batches:
        results.append(measure_batch(model, energy, args, batch))
        if cuda:
            torch.cuda.empty_cache()  # the batch's cache and graph pool are gone with its frame

    report: dict[str, Any] = {
        "env": env,
        "config": {
            "hardware": args.hardware,
            "batches": args.batches,
            "prompt": args.prompt,
            "steps": args.steps,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "energy_seconds": args.energy_seconds,
            "precision": "bf16",
            "cuda_graph": cuda and not args.no_graph,
        },
        "model": {**asdict(shape), "params": params, "lm_head": "untied"},
        "accelerator": {
            k: accelerator.get(k)
            for k in ("name", "memory_gb", "memory_bandwidth_gb_s", "bf16_tflops")
        },
        "checks": checks,
        "results": results,
        "notes": notes,
    }
    if uc is not None:
        compare(report, uc)
    else:
        notes.append(
            f"no roofline columns: {uc_reason}; run --compare on this JSON where unitcost imports"
        )
    report["wall_seconds"] = time.perf_counter() - t_start
    print_tables(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    say(f"wrote {args.out} ({report['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
