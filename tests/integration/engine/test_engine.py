"""The installed engine: what `unitcost engine status` says, lower-bit variants made with the
engine's own llama-quantize, and a `backend: local` deployment that runs its own engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import gateway_settings, serving
from unitcost.engine.build import FLAGS
from unitcost.engine.cache import require_engine
from unitcost.engine.cpu import missing_features
from unitcost.engine.quantize import quantize
from unitcost.engine.server import LocalModel


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unitcost", "engine", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_status_reports_the_portable_build_and_this_cpu(llama_server: LocalModel) -> None:
    done = cli("status", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    status = json.loads(done.stdout)
    assert status["usable"] and status["cpu_missing"] == []
    engine = status["engine"]
    assert engine["flags"] == FLAGS and "-DGGML_NATIVE=OFF" in engine["flags"]
    assert set(engine["cpu_features"]) <= {"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"}
    assert missing_features(require_engine().features) == []
    text = cli("status")
    assert text.returncode == 0 and "this CPU has them all" in text.stdout
    assert all(len(line) <= 80 for line in text.stdout.splitlines()[2:])


def test_engine_answers_the_openai_endpoints(llama_server: LocalModel) -> None:
    with httpx.Client(base_url=llama_server.url, timeout=60) as http:
        (model,) = http.get("/models").json()["data"]
        assert model["id"] == "smollm2"
        text = http.post(
            "/completions", json={"model": "smollm2", "prompt": "The sky is", "max_tokens": 4}
        ).json()
        assert text["choices"][0]["text"] and text["usage"]["completion_tokens"] == 4
    assert httpx.get(llama_server.base + "/metrics", timeout=10).status_code == 200


@pytest.fixture(scope="module")
def q4_0(llama_server: LocalModel) -> Path:
    variant = quantize("Q4_0")
    assert variant.bits_per_weight is not None and variant.bits_per_weight < 5.74  # Q4_1's
    assert variant.size_bytes < Path(llama_server.gguf).stat().st_size
    return Path(variant.path)


def test_quantize_cli_names_what_it_made(q4_0: Path) -> None:
    done = cli("quantize", "Q4_0")
    assert done.returncode == 0 and done.stdout.startswith("Q4_0: ") and str(q4_0) in done.stdout
    bad = cli("quantize", "Q9_Z")
    assert bad.returncode == 2 and "quant: 'Q9_Z' is not supported; accepted:" in bad.stderr


def test_a_local_deployment_runs_its_own_engine_for_a_variant(tmp_path: Path, q4_0: Path) -> None:
    deployment = {
        "name": "smollm2-q4_0",
        "backend": "local",
        "options": {"quant": "Q4_0", "parallel": 2, "tokens_per_s": 50},
        "tokenizer": f"gguf:{q4_0}",
    }
    with serving(gateway_settings(tmp_path, [deployment])) as gw:
        upstream = gw.app.portfolio.deployments["smollm2-q4_0"].upstream
        engine = upstream.model  # type: ignore[attr-defined]
        assert engine.gguf == str(q4_0) and engine.proc.poll() is None
        reply = gw.client().chat.completions.create(
            model="smollm2-q4_0", messages=[{"role": "user", "content": "hi"}], max_tokens=4
        )
        assert reply.choices[0].message.content is not None
        (record,) = gw.records()
        assert record.prompt_tokens == reply.usage.prompt_tokens and record.cost_usd > 0
        # back-to-back streams: the engine closes a socket after each stream, so none may be
        # reused (the backend asks for `Connection: close`)
        for i in range(4):
            chunks = gw.client().chat.completions.create(
                model="smollm2-q4_0",
                messages=[{"role": "user", "content": f"hi {i}"}],
                max_tokens=2,
                stream=True,
            )
            assert [c for c in chunks if c.choices]
        assert all(r.status == "ok" for r in gw.records(expect=5))
        card = gw.app.portfolio.deployments["smollm2-q4_0"].card
        assert card.output_usd_per_m == pytest.approx(0.0816 / (50 * 3600) * 1e6)
        assert "50.0 output tokens/s given, 2 slots" in card.origin
        (model,) = gw.client().models.list().data
        assert model.model_extra["unitcost"]["backend"] == "local"
    assert engine.proc.poll() is not None  # the gateway's shutdown stopped its engine


def test_a_variant_not_yet_made_is_one_line_naming_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from unitcost.engine import server
    from unitcost.errors import InputError

    monkeypatch.setattr(server, "model_path", lambda quant: tmp_path / f"m.{quant}.gguf")
    with pytest.raises(InputError, match=r"make it with: unitcost engine quantize Q5_1$"):
        LocalModel.start("Q5_1")


def test_an_engine_whose_parent_was_killed_is_stopped_by_the_next_start(
    llama_server: LocalModel,
) -> None:
    """SIGKILL of a process that runs an engine (a test run, the demo) used to leave
    llama-server running for good; the next start on the machine stops it, and only it."""
    import time

    from unitcost.engine.server import reap_orphans

    def running(pid: int) -> bool:  # a zombie waiting for init to reap it has stopped
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from unitcost.engine.server import LocalModel; "
            "m = LocalModel.start(); print(m.proc.pid, flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None
    orphan = int(owner.stdout.readline())
    owner.kill()
    owner.wait()
    time.sleep(0.5)
    assert running(orphan)  # nothing stopped it
    assert reap_orphans() == [orphan]
    deadline = time.monotonic() + 10
    while running(orphan) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running(orphan)
    assert llama_server.proc.poll() is None  # this process's own engine is left alone
    assert httpx.get(llama_server.base + "/health", timeout=10).status_code == 200
