"""The GGUF metadata reader and the `gguf:` tokenizer on small GGUF files written here
(parity with llama.cpp on the real SmolLM2 file is in tests/integration/engine)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from unitcost.errors import InputError
from unitcost.wire.gguf_metadata import read_gguf_metadata
from unitcost.wire.tokens import GGUFTokenizer


def _string(s: str, order: str) -> bytes:
    raw = s.encode()
    return struct.pack(order + "Q", len(raw)) + raw


def _value(v: Any, order: str) -> tuple[int, bytes]:
    if isinstance(v, bool):
        return 7, struct.pack(order + "?", v)
    if isinstance(v, int):
        return 4, struct.pack(order + "I", v)
    if isinstance(v, float):
        return 6, struct.pack(order + "f", v)
    if isinstance(v, str):
        return 8, _string(v, order)
    assert isinstance(v, list) and v
    kind, _ = _value(v[0], order)
    items = b"".join(_value(x, order)[1] for x in v)
    return 9, struct.pack(order + "IQ", kind, len(v)) + items


def write_gguf(path: Path, meta: dict[str, Any], order: str = "<") -> Path:
    body = b"GGUF" + struct.pack(order + "IQQ", 3, 0, len(meta))
    for key, value in meta.items():
        kind, raw = _value(value, order)
        body += _string(key, order) + struct.pack(order + "I", kind) + raw
    path.write_bytes(body + b"\0" * 32)  # tensor data would follow
    return path


TOKENS = ["<|im_start|>", "<|im_end|>", "a", "b", "ab", "Ġ", "Ġab", "1", "2", "12"]
META = {
    "general.architecture": "llama",
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": "smollm",
    "tokenizer.ggml.tokens": TOKENS,
    "tokenizer.ggml.token_type": [3, 3, 1, 1, 1, 1, 1, 1, 1, 1],
    "tokenizer.ggml.merges": ["a b", "Ġ ab", "1 2"],
    "tokenizer.ggml.bos_token_id": 0,
    "tokenizer.ggml.eos_token_id": 1,
    "tokenizer.ggml.add_bos_token": False,
    "tokenizer.chat_template": (
        "{% for m in messages %}{{ '<|im_start|>' + m['content'] + '<|im_end|>' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>' }}{% endif %}"
    ),
    "llama.rope.freq_base": 0.5,
}


@pytest.mark.parametrize("order", ["<", ">"])
def test_metadata_is_read_in_either_byte_order(tmp_path: Path, order: str) -> None:
    meta = read_gguf_metadata(write_gguf(tmp_path / "m.gguf", META, order))
    assert meta["tokenizer.ggml.tokens"] == TOKENS
    assert meta["tokenizer.ggml.token_type"][:3] == [3, 3, 1]
    assert meta["tokenizer.ggml.add_bos_token"] is False
    assert meta["llama.rope.freq_base"] == 0.5 and meta["GGUF.version"] == 3


def test_bad_files_get_one_line_naming_the_file(tmp_path: Path) -> None:
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(InputError, match="is not a GGUF file"):
        read_gguf_metadata(not_gguf)
    truncated = tmp_path / "t.gguf"
    truncated.write_bytes(write_gguf(tmp_path / "m.gguf", META).read_bytes()[:60])
    with pytest.raises(InputError, match="is not a valid GGUF file"):
        read_gguf_metadata(truncated)
    with pytest.raises(InputError, match="does not exist"):
        GGUFTokenizer(str(tmp_path / "missing.gguf"))


def test_bpe_merges_digits_apart_and_special_tokens(tmp_path: Path) -> None:
    tok = GGUFTokenizer(str(write_gguf(tmp_path / "m.gguf", META)))
    assert tok.tok.encode("ab ab", add_special_tokens=False).ids == [4, 6]
    # the smollm pre-tokenizer isolates every digit, so "12" is never merged
    assert tok.tok.encode("12", add_special_tokens=False).ids == [7, 8]
    assert tok.tok.encode("<|im_start|>ab", add_special_tokens=False).ids == [0, 4]
    messages = [{"role": "user", "content": [{"type": "text", "text": "a"}, {"text": "b"}]}]
    assert tok.render_chat(messages) == "<|im_start|>a\nb<|im_end|><|im_start|>"
    assert tok.count_chat([{"role": "user", "content": "ab"}]) == 4


def test_vocabularies_it_cannot_rebuild_are_refused(tmp_path: Path) -> None:
    spm = write_gguf(tmp_path / "spm.gguf", {**META, "tokenizer.ggml.model": "llama"})
    with pytest.raises(InputError, match=r"vocabulary 'llama' .* is not supported; accepted"):
        GGUFTokenizer(str(spm))
    qwen = write_gguf(tmp_path / "qwen.gguf", {**META, "tokenizer.ggml.pre": "qwen2"})
    with pytest.raises(InputError, match="pre-tokenizer 'qwen2' is not supported"):
        GGUFTokenizer(str(qwen))
