"""How src/unitcost/data/litellm_model_prices_excerpt.json was made (run by hand, offline).

    pip download --no-deps litellm==1.110.2 -d /tmp/litellm
    python tools/excerpt_litellm_prices.py /tmp/litellm/litellm-1.110.2-*.whl

Copies the rows named below, unchanged, from the wheel's
`litellm/model_prices_and_context_window_backup.json` (MIT, Berri AI; the licence is
src/unitcost/data/LICENSE-litellm). The rows cover what the price-map tests need: cache
reads and writes (Anthropic), batch/flex/priority tiers, >200K-token tiers (Gemini, Claude
on Vertex and Bedrock), reasoning rates and tiered_pricing (Qwen), DeepSeek's cache-hit
field, and a row with two long-context thresholds (refused by design).
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

ROWS = [
    "claude-haiku-4-5",
    "claude-sonnet-4-5",
    "claude-opus-4-6",
    "vertex_ai/claude-sonnet-4-5",
    "anthropic.claude-sonnet-4-20250514-v1:0",
    "gpt-5-mini",
    "gpt-5.2",
    "gpt-4o-mini",
    "o3-mini",
    "gemini-3.1-pro-preview",
    "gemini/gemini-3.1-pro-preview",
    "gemini-2.5-pro",
    "deepseek/deepseek-reasoner",
    "dashscope/qwen-turbo",
    "dashscope/qwen-flash",
    "kyma/qwen3.7-flash",
]
OUT = Path(__file__).resolve().parents[1] / "src/unitcost/data/litellm_model_prices_excerpt.json"


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as z:
        full = json.loads(z.read("litellm/model_prices_and_context_window_backup.json"))
    OUT.write_text(json.dumps({k: full[k] for k in ROWS}, indent=4, ensure_ascii=False) + "\n")
    print(f"{len(ROWS)} rows written to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
