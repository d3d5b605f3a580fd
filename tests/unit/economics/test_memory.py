"""Memory refusals say which part does not fit, and what would."""

import pytest

from unitcost.catalog import Accelerator, load_catalog
from unitcost.economics.memory import kv_bytes_per_token, max_batch, memory_use
from unitcost.economics.roofline import RooflineInputs, roofline
from unitcost.errors import InputError

CAT = load_catalog()
V3 = CAT.model("deepseek-v3")


def test_weights_that_cannot_fit_name_the_weights_and_what_would() -> None:
    with pytest.raises(InputError) as exc:
        roofline(RooflineInputs(CAT.accelerator("H100-SXM"), V3, "fp8", tensor_parallel=8))
    message = exc.value.message
    assert message.startswith("accelerators: deepseek-v3 weights alone need 671 GB at fp8")
    assert "8 × H100-SXM hold 576 GB usable" in message
    assert "would fit: 16 × H100-SXM at fp8 or 8 × H100-SXM at int4" in message
    assert "lower the batch" not in message


def test_a_kv_cache_that_cannot_fit_names_the_batch_and_the_largest_that_fits() -> None:
    h100, l70 = CAT.accelerator("H100-SXM"), CAT.model("llama-3.3-70b")
    most = max_batch(h100, l70, "fp8", tensor_parallel=2, context_tokens=1250)
    with pytest.raises(InputError) as exc:
        roofline(
            RooflineInputs(
                h100,
                l70,
                "fp8",
                batch_size=most + 50,
                input_tokens=1000,
                output_tokens=250,
                tensor_parallel=2,
            )
        )
    message = exc.value.message
    assert message.startswith(f"batch_size: batch {most + 50:,} × 1,250 tokens of llama-3.3-70b")
    assert "GB of KV cache" in message and f"the largest batch that fits is {most:,}" in message
    roofline(
        RooflineInputs(
            h100,
            l70,
            "fp8",
            batch_size=most,
            input_tokens=1000,
            output_tokens=250,
            tensor_parallel=2,
        )
    )  # the largest does fit


def test_activations_that_cannot_fit_beside_the_weights_are_named() -> None:
    small = Accelerator(
        name="tiny",
        vendor="x",
        memory_gb=18.5,
        memory_bandwidth_gb_s=1000,
        bf16_tflops=100,
        source="test accelerator",
    )
    l8b = CAT.model("llama-3.1-8b")  # 16.06 GB of bf16 weights, 0.8 GB of activations
    use = memory_use(small, l8b, "bf16")
    assert use.weights_gb < use.usable_gb < use.weights_gb + use.activations_gb
    with pytest.raises(
        InputError,
        match=r"^accelerators: llama-3.1-8b weights .* fit but "
        r"activations for a 8,192-token prefill chunk",
    ):
        roofline(RooflineInputs(small, l8b, "bf16"))


def test_mla_and_kv_precision_shrink_the_cache() -> None:
    l405 = CAT.model("llama-3.1-405b")
    assert kv_bytes_per_token(V3, "bf16") * 7 < kv_bytes_per_token(l405, "bf16")
    assert kv_bytes_per_token(l405, "fp8") == kv_bytes_per_token(l405, "bf16") / 2
