"""Hub failures as one readable line: what happened, and what to do about it.

Everything that talks to the Hub catches exceptions at its boundary and re-raises ``HubError`` with
``explain(...)``'s text, so the CLIs print a message instead of a traceback. ``redact`` removes the
token from any text before it is shown or stored (the client's own messages never contain it, but
this is cheap insurance).
"""

from __future__ import annotations


class HubError(Exception):
    """A Hub operation failed; ``str()`` is the message for the user, ``status`` the HTTP status if any."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class PublishError(HubError):
    """Publishing a run failed; the run is still in the store and can be published again."""

    def __init__(self, message: str, run_id: str, status: int | None = None):
        hint = f"The run is kept in the local store; publish it later with: smoltrace-publish --run-id {run_id}"
        super().__init__(f"{message}\n{hint}", status)
        self.run_id = run_id
        self.reason = message


def redact(text: str, token: str | None) -> str:
    if token and len(token) >= 4:
        text = text.replace(token, "***")
    return text


def http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def is_connection_error(exc: BaseException) -> bool:
    """No answer at all: refused, DNS, TLS, timeout (httpx's TransportError family, or an OSError)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"TransportError", "ConnectError", "TimeoutException", "NetworkError"}) or isinstance(
        exc, (ConnectionError, TimeoutError)
    )


def explain(exc: BaseException, *, action: str, endpoint: str, token: str | None = None) -> str:
    """``action`` says what was being done (e.g. ``"creating alice/smoltrace-results-..."``)."""
    status = http_status(exc)
    server_message = ""
    response = getattr(exc, "response", None)
    if response is not None:
        server_message = response.headers.get("X-Error-Message", "") if hasattr(response, "headers") else ""
    detail = f" ({server_message})" if server_message else ""
    if status == 401:
        message = (f"the Hub refused the token while {action} (401 Unauthorized{detail}): it is invalid, expired "
                   "or revoked. Create a token with write access at https://huggingface.co/settings/tokens "
                   "and pass it with --hf-token or HF_TOKEN.")  # fmt: skip
    elif status == 403:
        message = (f"the token may not do this while {action} (403 Forbidden{detail}): it needs write access "
                   "to the namespace.")  # fmt: skip
    elif status == 404:
        message = f"not found while {action} (404{detail})."
    elif status == 409:
        message = f"conflict while {action} (409{detail})."
    elif status == 412:
        message = f"someone else updated the repository while {action} (412{detail}); try again."
    elif status == 429:
        message = (f"the Hub is rate limiting requests while {action} (429 Too Many Requests{detail}); "
                   "wait a few minutes and try again.")  # fmt: skip
    elif status is not None and status >= 500:
        message = f"the Hub had a server error while {action} ({status}{detail}); try again later."
    elif status is not None:
        message = f"the Hub answered {status} while {action}{detail}: {exc}"
    elif is_connection_error(exc):
        message = f"cannot reach the Hub at {endpoint} while {action} ({type(exc).__name__}: {exc}); check the network."
    else:
        message = f"{action} failed: {type(exc).__name__}: {exc}"
    return redact(message, token)
