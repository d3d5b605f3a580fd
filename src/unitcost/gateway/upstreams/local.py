"""`local`: a deployment that runs its own llama.cpp engine (`unitcost engine install`).

    deployments:
      - name: smollm2-q4_0
        backend: local
        options: {quant: Q4_0, parallel: 4, threads: 1}

`start()` starts the engine for that GGUF on a free loopback port (self-tested, see
unitcost.engine.server) and forwards every call through the `openai` backend; `close()`
stops it. Without a `price:` the deployment is priced like the demo's local row: the seed
method on a 2-vCPU VM's hourly price ÷ the output tokens/s measured at start-up with every
slot busy (`tokens_per_s` skips the measurement).
"""

from __future__ import annotations

import asyncio
import dataclasses

from pydantic import BaseModel, ConfigDict, Field

from unitcost.economics.pricing import PriceCard
from unitcost.engine.pricing import VM_SOURCE, VM_USD_PER_HOUR
from unitcost.engine.server import MODEL_NAME, LocalModel
from unitcost.gateway.upstreams.base import Call, Reply, Upstream
from unitcost.gateway.upstreams.openai import OpenAIBackend, OpenAIOptions, Timeouts
from unitcost.gateway.upstreams.registry import register

__all__ = ["LocalBackend"]


class LocalOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    quant: str = Field(
        "Q4_1", description="Q4_1 (shipped) or a variant `unitcost engine quantize` made"
    )
    parallel: int = Field(4, ge=1, le=64, description="engine slots batched together")
    threads: int | None = Field(None, ge=1, le=256)
    ctx_per_slot: int = Field(2048, ge=512, le=8192)
    tokens_per_s: float | None = Field(None, gt=0, description="skip the start-up measurement")
    usd_per_hour: float = Field(VM_USD_PER_HOUR, gt=0)
    price_source: str = VM_SOURCE
    start_timeout_s: float = Field(120.0, gt=0)
    timeouts: Timeouts = Timeouts()


@register("local")
class LocalBackend(Upstream):
    Options = LocalOptions
    options: LocalOptions
    tokens_per_s: float = 0.0

    async def start(self) -> None:
        o = self.options
        self.model = await asyncio.to_thread(
            LocalModel.start,
            o.quant,
            parallel=o.parallel,
            threads=o.threads,
            ctx_per_slot=o.ctx_per_slot,
            timeout_s=o.start_timeout_s,
        )
        try:
            measured = o.tokens_per_s
            if measured is None:
                measured = await asyncio.to_thread(self.model.measure_tokens_per_s)
            self.tokens_per_s = measured
            inner = OpenAIOptions(
                url=self.model.url,
                model=MODEL_NAME,
                timeouts=o.timeouts,
                max_connections=max(8, 2 * o.parallel),
            )
            self.inner = OpenAIBackend(self.deployment, inner)
            await self.inner.start()
            # cpp-httplib closes the socket after every streamed response without saying so,
            # so a pooled socket would fail the next call at once; streams go through their
            # own pool and ask for `Connection: close`, which the engine then announces
            self.streams = OpenAIBackend(self.deployment, inner)
            await self.streams.start()
            self.streams.headers.append((b"connection", b"close"))
        except BaseException:
            self.model.stop()
            raise
        self.between_tokens_timeout = self.inner.between_tokens_timeout
        self.first_token_timeout = self.inner.first_token_timeout

    async def close(self) -> None:
        for backend in ("inner", "streams"):
            if hasattr(self, backend):
                await getattr(self, backend).close()
        if hasattr(self, "model"):
            await asyncio.to_thread(self.model.stop)

    def models(self) -> list[str]:
        return [f"SmolLM2-135M-Instruct.{self.options.quant}"]

    def default_tokenizer(self) -> str:
        return f"gguf:{self.model.gguf}"

    async def send(self, call: Call) -> Reply:
        return await (self.streams if call.stream else self.inner).send(call)

    def default_price(self) -> PriceCard | None:
        from unitcost.economics.spec import DeploymentSpec, WorkloadSpec
        from unitcost.gateway.portfolio import price_card

        spec = DeploymentSpec.model_validate(
            {
                "seed": {
                    "tco_usd_per_hour": self.options.usd_per_hour,
                    "tokens_per_s": round(self.tokens_per_s, 2),
                }
            }
        )
        card = price_card(self.deployment, spec, WorkloadSpec())
        how = "given" if self.options.tokens_per_s else "measured at start-up"
        return dataclasses.replace(
            card,
            origin=f"{card.origin}; ${self.options.usd_per_hour}/h ({self.options.price_source})"
            f" ÷ {self.tokens_per_s:.1f} output tokens/s {how}, {self.options.parallel} slots",
        )
