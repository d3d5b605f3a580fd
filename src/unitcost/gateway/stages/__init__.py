"""The request path's stages, one module each, composed in `gateway/pipeline.py`.

authenticate → intake → guard → route → admit (reserve a hold) → cache → call → relay or
respond → meter → record (durable before the last byte) → settle.
"""
