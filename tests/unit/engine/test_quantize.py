"""Naming and reading quantization variants (the real llama-quantize runs in
tests/integration/engine)."""

from __future__ import annotations

import pytest

from unitcost.engine.quantize import QUANTS, Variant, _parse, quantize
from unitcost.errors import InputError

LOG = """[ 272/ 272] blk.29.ffn_up.weight - [576, 1536, 1, 1], type = q4_1, converting to q4_0
llama_model_quantize_impl: model size  =    92.10 MiB (5.74 BPW)
llama_model_quantize_impl: quant size  =    82.41 MiB (5.14 BPW)
llama_model_quantize_impl: WARNING: 180 of 272 tensor(s) required fallback quantization
"""


def test_the_log_gives_bits_per_weight_and_fallbacks() -> None:
    assert _parse(LOG) == (5.14, 180, 272)
    assert _parse(LOG.replace("WARNING: 180 of 272", ""))[1:] == (0, 272)


def test_unknown_and_shipped_types_are_refused_with_what_is_accepted() -> None:
    with pytest.raises(InputError, match=r"quant: 'Q9_X' is not supported; accepted: Q2_K, "):
        quantize("q9_x")
    with pytest.raises(InputError, match="Q4_1 is the shipped model"):
        quantize("Q4_1")
    assert QUANTS.index("Q2_K") < QUANTS.index("Q4_0") < QUANTS.index("Q8_0")


def test_a_variant_says_when_most_of_it_fell_back() -> None:
    v = Variant("Q2_K", "/m.gguf", 88_201_792, 5.14, 180, 272, 1.2, "Q4_1")
    assert (
        v.summary() == "Q2_K: 84.1 MiB, 5.14 bits/weight, 180/272 tensors fell back to another type"
    )
    assert len(v.summary()) <= 80
