"""Who may call, and how much they may send.

The API key is compared in constant time and never logged. The body limit is enforced on the
bytes actually received, not only on the Content-Length header a client chooses to send.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from fraudstream.config import Settings
from fraudstream.schema import API_KEY_HEADER


class Unauthorized(Exception):
    """No API key, or the wrong one (HTTP 401)."""


class BodyTooLarge(Exception):
    """The request body is over ``service_max_body_bytes`` (HTTP 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")


def check_api_key(settings: Settings, request: Request) -> None:
    expected = settings.service.api_key
    if expected is None:
        return
    given = request.headers.get(API_KEY_HEADER, "")
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise Unauthorized(f"a valid {API_KEY_HEADER} header is required")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing early when the declared or received size passes ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
