"""LocalModel's start-up self-test and its one-line diagnosis, against a fault instrument
(crashing_engine.py) that fails the way a broken build does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.engine import crashing_engine
from unitcost.engine.server import EngineError, LocalModel


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("UNITCOST_HOME", str(tmp_path))
    return tmp_path


def start(monkeypatch: pytest.MonkeyPatch, mode: str, timeout_s: float = 30) -> str:
    monkeypatch.setenv("UNITCOST_FAKE_ENGINE", mode)
    with pytest.raises(EngineError) as info:
        LocalModel.start(timeout_s=timeout_s)
    message = info.value.message
    assert "\n" not in message  # one line
    return message


def test_a_crash_on_the_first_long_prompt_names_the_signal_the_cpu_and_the_log(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashing_engine.install(home)
    message = start(monkeypatch, "segv")
    assert "died with SIGSEGV during its start-up self-test" in message
    assert "the build needs sse4_2, avx, avx2, fma, f16c, bmi2, all present on" in message
    assert "fix: rebuild with `unitcost engine install --force`" in message
    log = Path(message.split("log: ")[1].split(" (last line")[0])
    assert log.is_file() and log.parent == home / "logs"
    assert "(last line: srv  update_slots: decoding batch)" in message


def test_a_cpu_without_the_builds_features_is_named_with_what_it_lacks(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashing_engine.install(home, features=["avx2", "amx_tile_not_a_real_flag"])
    message = start(monkeypatch, "segv")
    assert "lacks amx_tile_not_a_real_flag" in message
    assert "fix: run it on an x86-64 CPU with AVX2/FMA/F16C" in message


def test_an_engine_that_hangs_is_reported_within_the_timeout(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashing_engine.install(home)
    message = start(monkeypatch, "hang", timeout_s=3)
    assert "did not answer during its start-up self-test" in message
    assert "threads=1" in message


def test_an_engine_that_exits_while_loading_says_so_with_its_last_line(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashing_engine.install(home)
    message = start(monkeypatch, "exit")
    assert "exited with status 1 while loading the model" in message
    assert "(last line: error: failed to load model)" in message


def test_no_engine_installed_names_the_install_command(home: Path) -> None:
    from unitcost.errors import InputError

    with pytest.raises(InputError, match="build it with: unitcost engine install"):
        LocalModel.start()


def test_a_slot_too_small_for_the_self_test_is_refused(home: Path) -> None:
    from unitcost.errors import InputError

    with pytest.raises(InputError, match=r"ctx_per_slot: 256 is too small; accepted: 512 or more"):
        LocalModel.start(ctx_per_slot=256)
