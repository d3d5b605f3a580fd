import numpy as np
import pytest

from unitcost.catalog import load_catalog
from unitcost.economics.roofline import RooflineInputs, decode_step_seconds, roofline
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
    # a batch of long prompts fills an 8,192-token pass: compute-bound
    t = roofline(RooflineInputs(H100, L8B, "fp8", batch_size=4, input_tokens=4096, mfu=0.5))
    flops_per_token = 2 * L8B.params_active_b * 1e9 + 4 * 32 * 32 * 128 * 2048
    assert t.prefill_tokens_per_s == pytest.approx(1979e12 * 0.5 / flops_per_token, rel=1e-9)


def test_a_short_prompt_alone_is_bound_by_reading_the_weights() -> None:
    t = roofline(
        RooflineInputs(H100, L8B, "fp8", input_tokens=16, mfu=0.5, bandwidth_efficiency=0.6)
    )
    read_once = L8B.params_total_b * 1e9 / (3350e9 * 0.6)
    assert t.ttft_s == pytest.approx(read_once, rel=1e-9)


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
        InputError,
        match=r"accelerators: llama-3.1-405b weights alone need 406 GB at fp8, but 1 × "
        r"H100-SXM hold 72 GB usable \(90% of 80 GB\); would fit: 8 × H100-SXM at fp8",
    ):
        roofline(RooflineInputs(H100, CAT.model("llama-3.1-405b"), "fp8"))


def test_tensor_parallel_speed_up_pays_a_latency_per_collective() -> None:
    # gpt-fast measured 104.9 → 168.84 tok/s (1.61×) from TP1 to TP2 for Llama-2-7B on A100
    a100, l7 = CAT.accelerator("A100-80GB"), CAT.model("llama-2-7b")
    rates = [
        1.0 / decode_step_seconds(RooflineInputs(a100, l7, "bf16", tensor_parallel=tp), 1.0)[0]
        for tp in (1, 2)
    ]
    assert 1.4 < rates[1] / rates[0] < 1.75
    free = RooflineInputs(a100, l7, "bf16", tensor_parallel=2, collective_latency_s=0.0)
    assert 1.0 / decode_step_seconds(free, 1.0)[0] / rates[0] > 1.95  # bandwidth alone


def test_chunked_prefill_overlap_hides_prompt_work_in_memory_bound_steps() -> None:
    long = {"batch_size": 40.0, "input_tokens": 20_000.0, "output_tokens": 2000.0}
    serial = roofline(RooflineInputs(H100, L8B, "fp8", **long))
    overlapped = roofline(RooflineInputs(H100, L8B, "fp8", prefill_overlap=0.6, **long))
    assert overlapped.decode_tokens_per_s > 1.1 * serial.decode_tokens_per_s


def test_arrays_of_batch_sizes_give_arrays_of_rates() -> None:
    t = roofline(RooflineInputs(H100, L8B, "fp8", batch_size=np.array([1.0, 16.0, 64.0])))
    assert isinstance(t.decode_tokens_per_s, np.ndarray)
    assert np.all(np.diff(t.decode_tokens_per_s) > 0)
