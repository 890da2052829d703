"""Bearer-token check shared by the gRPC and HTTP receivers (and the query API)."""

from __future__ import annotations

import hmac


def bearer_token_matches(authorization: str | None, token: str | None) -> bool:
    """True when no token is configured, or ``authorization`` is ``Bearer <token>``.

    Compared in constant time so the token cannot be guessed byte by byte from response times.
    """
    if not token:
        return True
    if not authorization:
        return False
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())
