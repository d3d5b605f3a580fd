"""YAML mappings read the one way every unitcost file is read: a clear line on bad input.

raw = parse_mapping(text, origin="gateway.yaml")   # dict, or InputError("...: not valid
                                                   # YAML at line 3; accepted: a mapping")
"""

from __future__ import annotations

from typing import Any

import yaml

from unitcost.errors import InputError

__all__ = ["parse_mapping"]


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
