import numpy as np
import pytest

from unitcost.catalog import load_catalog
from unitcost.economics.roofline import RooflineInputs, roofline
from unitcost.errors import InputError

CAT = load_catalog()
H100 = CAT.accelerator("H100-SXM")
L8B = CAT.model("llama-3.1-8b")


def test_batch_one_decode_is_memory_bound_at_bandwidth_times_efficiency() -> None:
    t = roofline(
        RooflineInputs(
            H100,
            L8B,
            "bf16",
            batch_size=1,
            input_tokens=100,
            output_tokens=100,
            bandwidth_efficiency=0.6,
        )
    )
    weights = L8B.params_total_b * 1e9 * 2
    kv = 150 * L8B.kv_elements_per_token * 2
    assert t.decode_bound == "memory"
    assert t.decode_tokens_per_s == pytest.approx(3350e9 * 0.6 / (weights + kv), rel=1e-9)


def test_prefill_is_compute_bound_at_peak_times_mfu() -> None:
    t = roofline(RooflineInputs(H100, L8B, "fp8", input_tokens=2, mfu=0.5))
    flops_per_token = 2 * L8B.params_active_b * 1e9 + 4 * 32 * 32 * 128 * 1
    assert t.prefill_tokens_per_s == pytest.approx(1979e12 * 0.5 / flops_per_token, rel=1e-9)


def test_large_batches_hit_the_compute_ceiling() -> None:
    small = roofline(
        RooflineInputs(H100, L8B, "fp8", batch_size=8, input_tokens=64, output_tokens=64)
    )
    huge = roofline(
        RooflineInputs(H100, L8B, "fp8", batch_size=4096, input_tokens=16, output_tokens=16)
    )
    assert small.decode_bound == "memory"
    assert huge.decode_bound == "compute"
    assert huge.decode_tokens_per_s > small.decode_tokens_per_s


def test_lower_precision_reads_fewer_bytes_and_decodes_faster() -> None:
    rates = [
        roofline(RooflineInputs(H100, L8B, p, batch_size=1)).decode_tokens_per_s
        for p in ("bf16", "fp8", "int4")
    ]
    assert rates[0] < rates[1] < rates[2]


def test_moe_reads_only_the_experts_a_small_batch_touches() -> None:
    mixtral = CAT.model("mixtral-8x7b")
    one = roofline(RooflineInputs(H100, mixtral, "fp8", batch_size=1, tensor_parallel=2))
    dense_equivalent = mixtral.params_total_b * 1e9  # bytes at fp8 if every expert were read
    assert one.decode_tokens_per_s > 2 * 3350e9 * 0.6 / dense_equivalent
    big = roofline(RooflineInputs(H100, mixtral, "fp8", batch_size=256, tensor_parallel=2))
    assert big.decode_tokens_per_s / 256 < one.decode_tokens_per_s


def test_mla_models_cache_far_fewer_elements_per_token() -> None:
    v3 = CAT.model("deepseek-v3")
    assert v3.kv_elements_per_token == 61 * 576


def test_tensor_parallelism_adds_bandwidth_and_all_reduce_time() -> None:
    l70 = CAT.model("llama-3.1-70b")
    tp2 = roofline(RooflineInputs(H100, l70, "fp8", batch_size=1, tensor_parallel=2))
    tp4 = roofline(RooflineInputs(H100, l70, "fp8", batch_size=1, tensor_parallel=4))
    assert tp2.decode_tokens_per_s < tp4.decode_tokens_per_s < 2 * tp2.decode_tokens_per_s


def test_a_model_that_does_not_fit_is_refused_with_the_numbers() -> None:
    with pytest.raises(
        InputError, match=r"llama-3.1-405b .* needs .* GB but 1 × H100-SXM hold 80 GB"
    ):
        roofline(RooflineInputs(H100, CAT.model("llama-3.1-405b"), "fp8"))


def test_arrays_of_batch_sizes_give_arrays_of_rates() -> None:
    t = roofline(RooflineInputs(H100, L8B, "fp8", batch_size=np.array([1.0, 16.0, 64.0])))
    assert isinstance(t.decode_tokens_per_s, np.ndarray)
    assert np.all(np.diff(t.decode_tokens_per_s) > 0)
