"""What bench, routing and the gateway all speak, below each of them.

- `http1`: a keep-alive HTTP/1.1 client pool with connect, first-byte and between-chunk
  timeouts.
- `sse`: server-sent events: a complete answer re-sent as a stream.
- `usage`: what a call used, from OpenAI JSON whole or streamed.
- `openai`: the OpenAI request dialect: the text a request asks about.
- `tokens`: counting tokens offline with a model's own tokenizer.

`wire` imports only `errors` and the value types of `economics.pricing`.
"""
