"""Budgets, holds and rate limits shared by every gateway process and host, in Redis.

    limits = RedisLimits(plan, config, spend_source=store)   # store: the ledger (PostgreSQL)
    await limits.start()
    hold = await limits.reserve(ask)      # one Lua script: every bucket or none
    await limits.settle(hold, actual_micros=830, actual_tokens=412)   # queued, not awaited

The ledger stays the source of truth for spend: a budget bucket Redis does not have yet (a
new month, or Redis restarted empty) is initialised from the ledger's sum before it admits
anything. Holds carry an expiry; a hold nobody settled by then (its gateway died) is
charged in full, which is what the journal's `interrupted` row for that call says too.

After Redis restarts, every process notices within `POLL_S` (its sentinel key is gone),
refuses admissions with 503 for `REBUILD_GRACE_S` while each process flushes its ledger
writer and re-registers the holds of its calls in flight, and only then are buckets
rebuilt from the ledger. While Redis is unreachable, admission fails closed (503) unless
`limits.on_redis_error: allow`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from unitcost.errors import Unavailable
from unitcost.gateway.limits.buckets import (
    Ask,
    BucketPlan,
    Budget,
    Hold,
    micros_from_nanos,
)
from unitcost.gateway.limits.rejections import budget_exceeded, rate_exceeded
from unitcost.gateway.settings import LimitsConfig
from unitcost.ledger.record import new_id
from unitcost.wire.resp import RespClient, RespError

__all__ = ["RedisLimits"]

log = logging.getLogger("unitcost.gateway")

POLL_S = 0.1
REBUILD_GRACE_S = 1.0
_MONTH_MS = 40 * 86400 * 1000  # a month's buckets outlive it by a few days

# KEYS: one per bucket. ARGV: hold id, hold ttl (ms), bucket count, then per bucket:
# kind ("b" budget | "r" rate), limit (micros | burst), refill per ms (rates), amount.
# Returns {1} admitted, {0, i, a, b} refused at bucket i, {2, i} bucket i needs its spend.
_RESERVE = b"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, ttl, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = {}
for i = 1, n do
  local key, base = KEYS[i], 3 + (i - 1) * 4
  local kind, limit = ARGV[base + 1], tonumber(ARGV[base + 2])
  local per_ms, amount = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
  if kind == 'b' then
    if redis.call('HEXISTS', key, 'spent') == 0 then return {2, i} end
    local expired = redis.call('ZRANGEBYSCORE', key .. ':exp', '-inf', now)
    for _, hid in ipairs(expired) do
      local amt = tonumber(redis.call('HGET', key .. ':held', hid) or '0')
      redis.call('HINCRBY', key, 'reserved', -amt)
      redis.call('HINCRBY', key, 'spent', amt)
      redis.call('HDEL', key .. ':held', hid)
      redis.call('ZREM', key .. ':exp', hid)
      redis.call('HSET', key .. ':charged', hid, amt)
    end
    local spent = tonumber(redis.call('HGET', key, 'spent'))
    local reserved = tonumber(redis.call('HGET', key, 'reserved') or '0')
    if spent + reserved + amount > limit then return {0, i, spent, reserved} end
  else
    local have = tonumber(redis.call('HGET', key, 'tokens') or limit)
    local ts = tonumber(redis.call('HGET', key, 'ts') or now)
    have = math.min(limit, have + (now - ts) * per_ms)
    if have < amount then return {0, i, tostring(have), 0} end
    tokens[i] = have
  end
end
for i = 1, n do
  local key, base = KEYS[i], 3 + (i - 1) * 4
  local amount = tonumber(ARGV[base + 4])
  if ARGV[base + 1] == 'b' then
    redis.call('HINCRBY', key, 'reserved', amount)
    redis.call('HSET', key .. ':held', id, amount)
    redis.call('ZADD', key .. ':exp', now + ttl, id)
    for _, k in ipairs({key, key .. ':held', key .. ':exp', key .. ':charged'}) do
      redis.call('PEXPIRE', k, %(month)d)
    end
  else
    redis.call('HSET', key, 'tokens', tostring(tokens[i] - amount), 'ts', now)
    redis.call('PEXPIRE', key, 3600000)
  end
end
return {1}
""".replace(b"%(month)d", str(_MONTH_MS).encode())

# KEYS: budget buckets, then rate buckets to refund. ARGV: hold id, budget count, then per
# budget its actual micros, then per rate: burst, refund.
_SETTLE = b"""
local id, nb = ARGV[1], tonumber(ARGV[2])
for i = 1, #KEYS do
  local key = KEYS[i]
  if i <= nb then
    local actual = tonumber(ARGV[2 + i])
    local amt = redis.call('HGET', key .. ':held', id)
    local charged = redis.call('HGET', key .. ':charged', id)
    if amt then
      redis.call('HINCRBY', key, 'reserved', -tonumber(amt))
      redis.call('HDEL', key .. ':held', id)
      redis.call('ZREM', key .. ':exp', id)
    end
    if charged then
      redis.call('HINCRBY', key, 'spent', actual - tonumber(charged))
      redis.call('HDEL', key .. ':charged', id)
    elseif redis.call('HEXISTS', key, 'spent') == 1 then
      redis.call('HINCRBY', key, 'spent', actual)
    else
      -- the bucket is being rebuilt: whether the ledger has this call's row yet is not
      -- known, so the call waits here and the rebuild counts it once (see _INITIALISE)
      redis.call('HSET', key .. ':limbo', id, actual)
      redis.call('PEXPIRE', key .. ':limbo', %(month)d)
    end
  else
    local base = 2 + nb + (i - nb - 1) * 2
    local burst, refund = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
    local have = tonumber(redis.call('HGET', key, 'tokens') or burst)
    redis.call('HSET', key, 'tokens', tostring(math.min(burst, have + refund)))
  end
end
return 1
""".replace(b"%(month)d", str(_MONTH_MS).encode())

# Set a rebuilt bucket's spend: the ledger's sum without the calls settled while the bucket
# was missing (ARGV[2] of them; ARGV[1] the sum without them), plus those calls' own cost.
# Returns 0 when another call settled meanwhile: read the ids and the ledger again.
_INITIALISE = b"""
local key, limbo = KEYS[1], KEYS[1] .. ':limbo'
if redis.call('HEXISTS', key, 'spent') == 1 then return 1 end
if redis.call('HLEN', limbo) ~= tonumber(ARGV[2]) then return 0 end
local spent = tonumber(ARGV[1])
for _, v in ipairs(redis.call('HVALS', limbo)) do spent = spent + tonumber(v) end
redis.call('HSET', key, 'spent', spent)
redis.call('DEL', limbo)
redis.call('PEXPIRE', key, %(month)d)
return 1
""".replace(b"%(month)d", str(_MONTH_MS).encode())

# Re-register a hold after a Redis restart, without checking (it was admitted before).
_REREGISTER = b"""
local id, ttl = ARGV[1], tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #KEYS do
  local amount = tonumber(ARGV[2 + i])
  if redis.call('HSETNX', KEYS[i] .. ':held', id, amount) == 1 then
    redis.call('HINCRBY', KEYS[i], 'reserved', amount)
    redis.call('ZADD', KEYS[i] .. ':exp', now + ttl, id)
  end
end
return 1
"""

SpendSource = Callable[[Budget, Sequence[str]], Awaitable[int]]


class RedisLimits:
    kind = "redis"

    def __init__(
        self,
        plan: BucketPlan,
        config: LimitsConfig,
        spend_source: SpendSource,
        flush_ledger: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self.plan = plan
        self.config = config
        self.prefix = config.key_prefix
        self.redis = RespClient.from_url(config.redis_url)
        self.spend_source = spend_source
        self.flush_ledger = flush_ledger
        self.in_flight: dict[str, Hold] = {}
        self.generation: bytes | None = None
        self.ready_at = 0.0  # admissions wait until then after a Redis restart
        self._poller: asyncio.Task[None] | None = None

    def _key(self, name: str) -> str:
        return self.prefix + name

    async def start(self) -> None:
        with contextlib.suppress(RespError):
            await self._check_generation()
            await self.redis.load(_SETTLE)
        # A Redis without our state (new, or restarted) waits out the grace period now,
        # while the gateway starts, rather than refusing its first requests.
        wait = self.ready_at - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        self._poller = asyncio.ensure_future(self._poll())

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        await self.redis.drain(self.redis.timeout_s)  # the last calls' settles
        self.redis.close()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            with contextlib.suppress(RespError):
                await self._check_generation()

    async def _check_generation(self) -> None:
        """Notice a Redis that lost our state; start (or join) the rebuild after it."""
        sentinel = self._key("generation")
        current = await self.redis.call(b"GET", sentinel)
        if current is None:
            fresh = f"{os.urandom(6).hex()}:{time.time() + REBUILD_GRACE_S:.3f}".encode()
            await self.redis.call(b"SET", sentinel, fresh, b"NX")
            current = await self.redis.call(b"GET", sentinel)
        if current == self.generation or current is None:
            return
        first = self.generation is None
        self.generation = current
        self.ready_at = float(current.split(b":")[1])
        if first and self.ready_at <= time.time():
            return  # joining a Redis that has been up all along
        log.warning("Redis lost its limit state; rebuilding budgets from the ledger")
        await self.redis.load(_SETTLE)  # settles are queued, not awaited: Redis must know it
        if self.flush_ledger is not None:
            await self.flush_ledger()  # so the rebuild sees every row we settled
        for hold in list(self.in_flight.values()):
            if hold.budgets:
                await self.redis.script(
                    _REREGISTER,
                    [self._key(b.key) for b in hold.budgets],
                    [
                        hold.id,
                        int(self.config.hold_ttl_s * 1000),
                        *([hold.micros] * len(hold.budgets)),
                    ],
                )

    def _unavailable(self, why: str) -> Unavailable:
        return Unavailable(
            f"budgets and rate limits are kept in Redis ({self.config.redis_url}), which {why}; "
            "retry shortly",
            headers={"retry-after": "1"},
        )

    def _refuse_while_rebuilding(self) -> None:
        if time.time() < self.ready_at:
            raise self._unavailable("restarted and is being rebuilt from the ledger")

    async def reserve(self, ask: Ask) -> Hold:
        budgets, rates = self.plan.budgets(ask), self.plan.rates(ask)
        hold = Hold(new_id(), ask.hold_micros, ask.tokens, tuple(budgets), tuple(rates))
        if hold.empty:
            return hold
        self._refuse_while_rebuilding()
        keys = [self._key(b.key) for b in budgets] + [self._key(r.key) for r in rates]
        args: list[bytes | str | int] = [hold.id, int(self.config.hold_ttl_s * 1000), len(keys)]
        for b in budgets:
            args += [b"b", b.limit_micros, 0, ask.hold_micros]
        for r in rates:
            args += [b"r", repr(r.burst), repr(r.per_ms), repr(r.cost)]
        for _ in range(len(budgets) + 1):
            try:
                result = await self.redis.script(_RESERVE, keys, args)
            except RespError as exc:
                if self.config.on_redis_error == "allow":
                    log.error("Redis unreachable (%s); admitting without limits", exc)
                    return Hold(hold.id, 0, 0, (), ())
                raise self._unavailable("is unreachable") from None
            if result[0] == 1:
                self.in_flight[hold.id] = hold
                return hold
            index = int(result[1]) - 1
            if result[0] == 2:
                # A bucket Redis does not have: a new month, or a Redis that restarted
                # before the poll noticed. Check first, so no bucket is rebuilt from a
                # ledger that is still missing rows and holds in flight.
                with contextlib.suppress(RespError):
                    await self._check_generation()
                self._refuse_while_rebuilding()
                await self._initialise(budgets[index])
                continue
            if index < len(budgets):
                raise budget_exceeded(
                    budgets[index], int(result[2]), int(result[3]), ask.hold_micros
                )
            raise rate_exceeded(rates[index - len(budgets)], float(result[2]))
        raise self._unavailable("did not keep a budget it was given")

    async def _initialise(self, budget: Budget) -> None:
        """The bucket's spend from the ledger. A call settled while the bucket was missing
        is counted from Redis and its row left out of the ledger's sum: counted once,
        whether or not the ledger writer had stored the row yet."""
        key = self._key(budget.key)
        for _ in range(10):
            settled = [i.decode() for i in await self.redis.call(b"HKEYS", key + ":limbo")]
            spent = await self.spend_source(budget, settled)
            if await self.redis.script(_INITIALISE, [key], [spent, len(settled)]) == 1:
                return
        raise self._unavailable("kept changing while its budget was rebuilt")

    async def settle(self, hold: Hold, actual_micros: int, actual_tokens: int = 0) -> None:
        """Queue the settle script and return without waiting for Redis: the request is over,
        and a later command on the connection is only run after it (Redis keeps order)."""
        if hold.settled or hold.empty:
            hold.settled = True
            return
        hold.settled = True
        self.in_flight.pop(hold.id, None)
        keys = [self._key(b.key) for b in hold.budgets]
        args: list[bytes | str | int] = [hold.id, len(keys), *([actual_micros] * len(keys))]
        for r in hold.rates:
            if r.key.startswith("r:tpm:") and actual_tokens < hold.tokens:
                keys.append(self._key(r.key))
                args += [repr(r.burst), hold.tokens - actual_tokens]
        self.redis.script_soon(_SETTLE, keys, args).add_done_callback(_settled)


def _settled(reply: asyncio.Future[Any]) -> None:
    if not reply.cancelled() and reply.exception() is not None:
        # The hold stays in Redis until it expires and is then charged in full: the
        # budget can only be under-used, never overspent.
        log.error(
            "Redis unreachable at settle (%s); the hold will be charged at expiry",
            reply.exception(),
        )


async def spend_from_store(store: Any, budget: Budget, without: Sequence[str] = ()) -> int:
    """A budget bucket's spend this month from the ledger, in micro-dollars (rounded up),
    leaving out the rows of the calls `without` (ids)."""
    spent = await asyncio.to_thread(
        store.spent_nanos, list(budget.scope), f"{budget.month}-01", without
    )
    return micros_from_nanos(spent.get(budget.values, 0))
