"""YAML mappings read the one way every unitcost file is read: a clear line on bad input.

raw = parse_mapping(text, origin="gateway.yaml")   # dict, or InputError("...: not valid
                                                   # YAML at line 3; accepted: a mapping")
text = read_text(path, "--config")                 # InputError on missing, dir, not UTF-8
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from unitcost.errors import InputError

__all__ = ["parse_mapping", "read_text"]


def parse_mapping(text: str, origin: str) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{origin}: not valid YAML{where}; accepted: a YAML mapping") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InputError(f"{origin}: expected a YAML mapping, got a {type(raw).__name__}")
    return raw


def read_text(path: str | Path, what: str) -> str:
    """A text file's contents, or an InputError naming `what`: missing, a directory, not UTF-8."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{what}: {str(p)!r} is a directory; accepted: a file")
    if not p.is_file():
        raise InputError(f"{what}: {str(p)!r} does not exist")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{what}: {str(p)!r} is not UTF-8 text (byte {exc.start}); accepted: a UTF-8 file"
        ) from None
    except OSError as exc:
        raise InputError(f"{what}: {str(p)!r} cannot be read ({exc.strerror})") from None
