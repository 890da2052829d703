"""OTLP/HTTP receiver (``/v1/traces``, ``/v1/metrics``, ``/v1/logs``) as a Starlette app served by uvicorn.

Bodies may be ``application/x-protobuf`` or ``application/json``, optionally gzip-compressed. Errors
follow the OTLP/HTTP spec: a ``google.rpc.Status`` body in the request's encoding, 400 for a bad
request, 401 without the token, 413 for an oversized body, 415 for an unsupported content type or
encoding, 503 with ``Retry-After`` when the queue is full.
"""

from __future__ import annotations

import logging
import zlib

from google.rpc import status_pb2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smoltrace.collector.auth import bearer_token_matches
from smoltrace.collector.decode import OTLPDecodeError
from smoltrace.collector.grpc_server import SERVICES
from smoltrace.collector.ingest import AckTimeoutError, Ingestor
from smoltrace.collector.otlp_json import json_to_protobuf
from smoltrace.collector.writer import QueueFullError, StoreUnavailableError, WriterStoppedError
from smoltrace.web.routes import view_routes

log = logging.getLogger("smoltrace.collector")

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

# google.rpc.Code values used in Status bodies
_INVALID_ARGUMENT, _RESOURCE_EXHAUSTED, _UNAUTHENTICATED, _UNAVAILABLE = 3, 8, 16, 14


class _BodyTooLarge(Exception):
    pass


def _status_response(http_status: int, code: int, message: str, encoding: str, headers=None) -> Response:
    if encoding == PROTOBUF:
        body = status_pb2.Status(code=code, message=message).SerializeToString()
        return Response(body, status_code=http_status, media_type=PROTOBUF, headers=headers)
    return JSONResponse({"code": code, "message": message}, status_code=http_status, headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _BodyTooLarge()
    return bytes(body)


def _gunzip(body: bytes, limit: int) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(body, limit + 1)
    except zlib.error as exc:
        raise OTLPDecodeError(f"body is not valid gzip: {exc}") from None
    if len(data) > limit:
        raise _BodyTooLarge()
    if not decompressor.eof:
        raise OTLPDecodeError("gzip body is truncated")
    return data


def create_otlp_routes(ingestor: Ingestor, *, token: str | None, max_body_bytes: int) -> list[Route]:
    responses = {signal: response_class().SerializeToString() for signal, (_, response_class) in SERVICES.items()}

    def export_endpoint(signal: str):
        async def export(request: Request) -> Response:
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            encoding = content_type if content_type in (PROTOBUF, JSON) else JSON
            if not bearer_token_matches(request.headers.get("authorization"), token):
                return _status_response(401, _UNAUTHENTICATED, "missing or wrong bearer token", encoding,
                                        {"WWW-Authenticate": "Bearer"})  # fmt: skip
            if content_type not in (PROTOBUF, JSON):
                return _status_response(
                    415, _INVALID_ARGUMENT,
                    f"unsupported content type {content_type or '(none)'!r}: use {PROTOBUF} or {JSON}", JSON,
                )  # fmt: skip
            content_encoding = request.headers.get("content-encoding", "identity").strip().lower()
            if content_encoding not in ("identity", "gzip", ""):
                return _status_response(
                    415, _INVALID_ARGUMENT, f"unsupported content encoding {content_encoding!r}: use gzip", encoding
                )
            too_large = f"request body is larger than the collector's limit of {max_body_bytes} bytes"
            try:
                body = await _read_body(request, max_body_bytes)
                if content_encoding == "gzip":
                    body = _gunzip(body, max_body_bytes)
                if content_type == JSON:
                    body = await run_in_threadpool(json_to_protobuf, signal, body)
                await run_in_threadpool(ingestor.ingest, signal, body)
            except _BodyTooLarge:
                return _status_response(413, _INVALID_ARGUMENT, too_large, encoding)
            except OTLPDecodeError as exc:
                return _status_response(400, _INVALID_ARGUMENT, str(exc), encoding)
            except QueueFullError as exc:
                return _status_response(503, _RESOURCE_EXHAUSTED, str(exc), encoding,
                                        {"Retry-After": str(exc.retry_after_s)})  # fmt: skip
            except (WriterStoppedError, AckTimeoutError, StoreUnavailableError) as exc:
                return _status_response(503, _UNAVAILABLE, str(exc), encoding, {"Retry-After": "1"})
            except Exception as exc:  # the store failed: retryable, nothing was acknowledged
                log.exception("%s export failed", signal)
                return _status_response(503, _UNAVAILABLE, f"store write failed: {exc}", encoding, {"Retry-After": "1"})
            if encoding == PROTOBUF:
                return Response(responses[signal], media_type=PROTOBUF)
            return Response(b"{}", media_type=JSON)

        return export

    return [Route(f"/v1/{signal}", export_endpoint(signal), methods=["POST"]) for signal in SERVICES]


def _health_endpoint(ingestor: Ingestor):
    """``{"status": "ok"}``, or ``{"status": "degraded", "reason": ...}`` while the collector cannot
    write (it answers exports with retryable codes meanwhile and recovers by itself). HTTP 200 either
    way: the process is alive and restarting it would not help."""

    async def health(request: Request) -> Response:
        return JSONResponse(ingestor.writer.health())

    return health


def create_app(ingestor: Ingestor, *, token: str | None, max_body_bytes: int, extra_routes=()) -> Starlette:
    """The collector's HTTP app: OTLP receiver, health check, any extra routes (the query API), and the
    web view's pages at ``/`` (static files: they read through the query API, with its token)."""
    routes = [
        *create_otlp_routes(ingestor, token=token, max_body_bytes=max_body_bytes),
        Route("/health", _health_endpoint(ingestor), methods=["GET"]),
        *extra_routes,
        *view_routes(),
    ]
    return Starlette(routes=routes)


__all__ = ["create_app", "create_otlp_routes"]
