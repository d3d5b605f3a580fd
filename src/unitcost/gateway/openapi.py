"""The gateway's OpenAPI 3.1 document, served at `/openapi.json`.

It describes what the gateway itself checks (the model endpoints' required fields and the
shapes of messages and content parts; usage's query parameters) and the OpenAI-shaped error
every endpoint answers with, so a fuzzer (schemathesis) can check that no input produces a
5xx. Fields the gateway passes through to the upstream untouched are allowed, not listed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
_PART = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"type": "string"}, "text": {"type": "string"}},
}
_MESSAGE = {
    "type": "object",
    "required": ["role"],
    "properties": {
        "role": {"enum": ["system", "developer", "user", "assistant", "tool", "function"]},
        "content": {
            "oneOf": [{"type": "string"}, {"type": "array", "items": _PART}, {"type": "null"}]
        },
    },
}
_COMMON = {
    "model": {"type": "string", "minLength": 1},
    "stream": {"type": "boolean"},
    "max_tokens": {"type": "integer", "minimum": 1},
    "n": {"type": "integer", "minimum": 1, "maximum": 128},
    "temperature": {"type": "number"},
    "top_p": {"type": "number"},
    "presence_penalty": {"type": "number"},
    "frequency_penalty": {"type": "number"},
    "user": {"type": "string"},
}
_TEXT_OR_LIST = {
    "oneOf": [
        {"type": "string"},
        {"type": "array", "items": {"type": "string"}, "minItems": 1},
    ]
}


def _errors(*codes: int) -> dict[str, Any]:
    return {
        str(c): {
            "description": "an OpenAI-shaped error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for c in codes
    }


#: fields one endpoint alone reads
_OWN: dict[str, dict[str, Any]] = {
    "prompt": {"best_of": {"type": "integer", "minimum": 1, "maximum": 128}},
    "input": {
        "dimensions": {"type": "integer", "minimum": 1},
        "encoding_format": {"enum": ["float", "base64"]},
    },
}


def _model_endpoint(
    summary: str, required: str, schema: dict[str, Any], models: list[str]
) -> dict[str, Any]:
    model = {"type": "string", "minLength": 1, **({"enum": models} if models else {})}
    return {
        "post": {
            "summary": summary,
            "security": [{"bearer": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["model", required],
                            "properties": {
                                **_COMMON,
                                **_OWN.get(required, {}),
                                "model": model,
                                required: schema,
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "the upstream's answer (JSON, or server-sent events)",
                    "content": {"application/json": {}, "text/event-stream": {}},
                },
                **_errors(400, 401, 403, 404, 405, 413, 429, 502, 503, 504),
            },
        }
    }


def openapi_document(models: list[str] | None = None) -> dict[str, Any]:
    """The document; `models` (deployments and routes) become the `model` field's values."""
    names = models or []
    usage_params = [
        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
        for n in ("group_by", "tenant", "since", "until")
    ]
    return {
        "openapi": "3.1.0",
        "info": {"title": "unitcost gateway", "version": "1"},
        "components": {
            "schemas": {"Error": _ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/v1/chat/completions": _model_endpoint(
                "Chat completion",
                "messages",
                {"type": "array", "items": _MESSAGE, "minItems": 1},
                names,
            ),
            "/v1/completions": _model_endpoint("Text completion", "prompt", _TEXT_OR_LIST, names),
            "/v1/embeddings": _model_endpoint("Embeddings", "input", _TEXT_OR_LIST, names),
            "/v1/messages": {
                "post": {
                    "summary": "Anthropic Messages, through the same pipeline",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["model", "messages", "max_tokens"],
                                    "properties": {
                                        "model": {
                                            "type": "string",
                                            "minLength": 1,
                                            **({"enum": names} if names else {}),
                                        },
                                        "max_tokens": {"type": "integer", "minimum": 1},
                                        "messages": {"type": "array", "minItems": 1},
                                        "stream": {"type": "boolean"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {"description": "a message, or its events"},
                        **_errors(400, 401, 404, 429, 502, 504),
                    },
                }
            },
            "/v1/models": {
                "get": {
                    "summary": "Deployments and routes, with each price card and its origin",
                    "security": [{"bearer": []}],
                    "responses": {"200": {"description": "a list"}, **_errors(401)},
                }
            },
            "/v1/usage": {
                "get": {
                    "summary": "Usage and cost totals from the ledger",
                    "security": [{"bearer": []}],
                    "parameters": usage_params,
                    "responses": {"200": {"description": "totals"}, **_errors(400, 401, 403)},
                }
            },
            "/healthz": {
                "get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (admin or metrics key)",
                    "security": [{"bearer": []}],
                    "responses": {"200": {"description": "text"}, **_errors(401, 403)},
                }
            },
        },
    }
