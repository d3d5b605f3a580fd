"""Where the engine and its models live: a cache this project owns, never pip's.

    engine = find_engine()                # None until `unitcost engine install` ran
    engine.server, engine.quantize        # paths of llama-server and llama-quantize
    engine.info["cpu_features"]           # what the build needs from a CPU
    model_path("Q4_1")                    # the shipped SmolLM2 GGUF; other quants once made

Layout under `UNITCOST_HOME` (default `$XDG_CACHE_HOME/unitcost`, else `~/.cache/unitcost`):

    engine/<key>/bin/llama-server, bin/llama-quantize, build-info.json, build.log
    models/SmolLM2-135M-Instruct.<QUANT>.gguf (+ .json: where it came from)

`<key>` is sha256(source sha256 + build flags + compiler version)[:16]: a build made with
other flags, sources or compiler can never be mistaken for this one.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unitcost.errors import InputError

__all__ = [
    "INSTALL_HINT",
    "MODEL_STEM",
    "Engine",
    "build_key",
    "engine_root",
    "find_engine",
    "home",
    "model_path",
    "models_dir",
    "require_engine",
]

INSTALL_HINT = "unitcost engine install"
MODEL_STEM = "SmolLM2-135M-Instruct"


def home() -> Path:
    override = os.environ.get("UNITCOST_HOME")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "unitcost"


def engine_root() -> Path:
    return home() / "engine"


def models_dir() -> Path:
    return home() / "models"


def build_key(source_sha256: str, flags: list[str], compiler: str) -> str:
    text = "\n".join([source_sha256, *flags, compiler])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Engine:
    """One finished build: its binaries and what build-info.json says about it."""

    root: Path
    info: dict[str, Any]

    @property
    def server(self) -> Path:
        return self.root / "bin" / "llama-server"

    @property
    def quantize(self) -> Path:
        return self.root / "bin" / "llama-quantize"

    @property
    def features(self) -> list[str]:
        return list(self.info.get("cpu_features", []))

    @property
    def log(self) -> Path:
        return self.root / "build.log"


def _read_engine(root: Path) -> Engine | None:
    try:
        info = json.loads((root / "build-info.json").read_text())
    except (OSError, ValueError):
        return None
    engine = Engine(root, info)
    return engine if engine.server.is_file() else None


def find_engine(source_sha256: str | None = None, flags: list[str] | None = None) -> Engine | None:
    """The installed build of these sources and flags (by default the pinned ones); the
    newest if several compilers built it."""
    if source_sha256 is None or flags is None:
        from unitcost.engine.build import FLAGS, SOURCE

        source_sha256, flags = source_sha256 or SOURCE.sha256, flags or FLAGS
    root = engine_root()
    if not root.is_dir():
        return None
    found = []
    for child in root.iterdir():
        engine = _read_engine(child) if child.is_dir() else None
        if engine is None:
            continue
        if engine.info.get("source", {}).get("sha256") == source_sha256 and (
            engine.info.get("flags") == flags
        ):
            found.append(engine)
    return max(found, key=lambda e: e.info.get("built_at", 0), default=None)


def require_engine() -> Engine:
    engine = find_engine()
    if engine is None:
        raise InputError(f"the local engine is not installed; build it with: {INSTALL_HINT}")
    return engine


def model_path(quant: str = "Q4_1") -> Path:
    return models_dir() / f"{MODEL_STEM}.{quant}.gguf"
