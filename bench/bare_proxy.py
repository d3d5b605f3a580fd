"""The floor for a Python proxy: ASGI + a pooled aiohttp client, forwarding bytes, nothing else.

UPSTREAM=http://127.0.0.1:9101 uvicorn bench.bare_proxy:app --loop uvloop --http httptools
"""

import os

import aiohttp

UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:9101")
session: aiohttp.ClientSession | None = None


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    global session
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
                await send({"type": "lifespan.startup.complete"})
            else:
                await session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    async with session.post(
        UPSTREAM + scope["path"], data=body, headers={"content-type": "application/json"}
    ) as reply:
        data = await reply.read()
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": data})
