"""The engine build's fixed choices and checks (no compiler runs here: the real build is
exercised by `unitcost engine install`, which the test command runs first)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unitcost.engine import build, cache, cpu
from unitcost.errors import InputError, UnitcostError

CMAKE_X86 = (
    "-- x86 detected\n-- Adding CPU backend variant ggml-cpu: "
    "-msse4.2;-mf16c;-mfma;-mbmi2;-mavx;-mavx2 GGML_SSE42;GGML_F16C;GGML_FMA;GGML_BMI2\n"
)


def test_the_flags_are_portable_and_fetch_nothing() -> None:
    flags = set(build.FLAGS)
    assert "-DGGML_NATIVE=OFF" in flags and not any("march=native" in f for f in flags)
    for off in ("AVX512", "AVX512_VNNI", "AMX_TILE", "AMX_INT8", "AVX_VNNI", "OPENMP"):
        assert f"-DGGML_{off}=OFF" in flags
    for off in ("LLAMA_CURL", "LLAMA_OPENSSL", "LLAMA_USE_PREBUILT_UI", "LLAMA_BUILD_UI"):
        assert f"-D{off}=OFF" in flags  # no network at build time, no prebuilt web UI
    assert "-DFETCHCONTENT_FULLY_DISCONNECTED=ON" in flags


def test_cpu_features_come_from_cmakes_own_report() -> None:
    assert build._features(CMAKE_X86) == ["sse4_2", "f16c", "fma", "bmi2", "avx", "avx2"]
    wider = CMAKE_X86.replace("-mavx2", "-mavx2;-mavx512f")
    with pytest.raises(UnitcostError, match=r"beyond the baseline: \['avx512f'\]"):
        build._features(wider)
    with pytest.raises(UnitcostError, match="did not report"):
        build._features("-- Configuring done\n")


def test_the_cache_key_changes_with_sources_flags_and_compiler() -> None:
    key = cache.build_key("abc", build.FLAGS, "g++ 12.2.0")
    assert key == cache.build_key("abc", list(build.FLAGS), "g++ 12.2.0")
    assert key != cache.build_key("abd", build.FLAGS, "g++ 12.2.0")
    assert key != cache.build_key("abc", [*build.FLAGS, "-DGGML_NATIVE=ON"], "g++ 12.2.0")
    assert key != cache.build_key("abc", build.FLAGS, "g++ 13.1.0")


def test_a_given_source_with_the_wrong_hash_is_refused(tmp_path: Path) -> None:
    wrong = tmp_path / build.SOURCE.filename
    wrong.write_bytes(b"not the sdist")
    with pytest.raises(InputError, match=r"--source: llama_cpp_python-0.3.36.tar.gz has sha256"):
        build._verified(build.SOURCE, wrong, "--source")
    with pytest.raises(InputError, match="--model: .* does not exist"):
        build._verified(build.MODEL, tmp_path / "missing.whl", "--model")


def test_find_engine_ignores_builds_of_other_flags_or_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNITCOST_HOME", str(tmp_path))
    assert cache.find_engine() is None

    def fake(name: str, sha: str, flags: list[str], built_at: float) -> None:
        root = tmp_path / "engine" / name
        (root / "bin").mkdir(parents=True)
        (root / "bin" / "llama-server").write_text("")
        info = {"source": {"sha256": sha}, "flags": flags, "built_at": built_at}
        (root / "build-info.json").write_text(json.dumps(info))

    fake("native", build.SOURCE.sha256, [*build.FLAGS[:-1], "-DGGML_NATIVE=ON"], 3.0)
    fake("other-source", "0" * 64, build.FLAGS, 2.0)
    assert cache.find_engine() is None
    fake("old", build.SOURCE.sha256, build.FLAGS, 1.0)
    fake("new", build.SOURCE.sha256, build.FLAGS, 1.5)
    found = cache.find_engine()
    assert found is not None and found.root.name == "new"


def test_a_missing_compiler_is_one_line_naming_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    with pytest.raises(InputError, match=r"C\+\+17 compiler .* apt-get install cmake g\+\+"):
        build.install()


def test_cpu_flags_and_missing_features(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse4_2 avx avx2 fma\n")
    monkeypatch.setattr(cpu, "CPUINFO", info)
    cpu.cpu_flags.cache_clear()
    try:
        assert cpu.missing_features(build.FEATURES) == ["f16c", "bmi2"]
        assert cpu.describe_cpu().startswith("Test CPU (")
        assert "no AVX-512, no AMX" in cpu.describe_cpu()
    finally:
        cpu.cpu_flags.cache_clear()
