"""The errors of the HTTP API, and the one JSON shape every one of them takes.

Each refusal is an :class:`ApiError` that knows its HTTP status, a stable
machine ``code``, a message for the person integrating, and the request
``field`` at fault when there is one. They are raised anywhere below the
ASGI edge and turned into a response in one place (:meth:`ApiError.body`)::

    {"error": {"status": 400, "code": "invalid_field",
               "message": "caller '12ab' is not a phone number ...", "field": "caller"}}

The subtree of :class:`~qalqan.errors.QalqanError` drawn here::

    QalqanError
     ├── ApiError                        an HTTP request is refused (status, code, field)
     │    ├── BadRequestError         400  invalid_json, invalid_body, invalid_field,
     │    │                                missing_field, unknown_field
     │    ├── UnauthorizedError       401  unauthorized
     │    ├── NotFoundError           404  not_found
     │    ├── MethodNotAllowedError   405  method_not_allowed (with the Allow header)
     │    ├── PayloadTooLargeError    413  body_too_large, batch_too_large
     │    ├── UnsupportedMediaTypeError 415 unsupported_media_type
     │    ├── UnprocessableError      422  unprocessable
     │    │    └── UnscreenableError       unscreenable: the engine refused this attempt
     │    ├── InternalError           500  internal_error, engine_error
     │    └── NotReadyError           503  not_ready: the engine is loading or failed to load
     └── ConfigError
          └── EngineUnavailableError       the screening engine cannot be loaded (serve-http)

Three more codes come in the same shape from the connection guard of
:mod:`qalqan.api.server`, before a request reaches the API (no exception
class: the connection is answered and closed there)::

    408  request_timeout        the request line, headers or body did not arrive in time
    431  headers_too_large      the request line and header block are over the limit
    503  too_many_connections   the connection limit is reached and no idle one can give way
"""

from __future__ import annotations

from typing import Any, ClassVar

from qalqan.errors import ConfigError, QalqanError

__all__ = [
    "ApiError",
    "BadRequestError",
    "EngineUnavailableError",
    "InternalError",
    "MethodNotAllowedError",
    "NotFoundError",
    "NotReadyError",
    "PayloadTooLargeError",
    "UnauthorizedError",
    "UnprocessableError",
    "UnscreenableError",
    "UnsupportedMediaTypeError",
    "error_body",
]


def error_body(status: int, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The one error shape of the API."""
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


class ApiError(QalqanError):
    """A refused request: HTTP status, machine code, message, and the field at fault."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.code, self.message, self.field)

    def headers(self) -> list[tuple[bytes, bytes]]:
        """Extra response headers this error calls for (Allow, WWW-Authenticate)."""
        return []


class BadRequestError(ApiError):
    status = 400
    default_code = "invalid_field"


class UnauthorizedError(ApiError):
    status = 401
    default_code = "unauthorized"

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"www-authenticate", b'Bearer realm="qalqan"')]


class NotFoundError(ApiError):
    status = 404
    default_code = "not_found"


class MethodNotAllowedError(ApiError):
    status = 405
    default_code = "method_not_allowed"

    def __init__(self, message: str, *, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"allow", ", ".join(self.allow).encode())]


class PayloadTooLargeError(ApiError):
    status = 413
    default_code = "body_too_large"


class UnsupportedMediaTypeError(ApiError):
    status = 415
    default_code = "unsupported_media_type"


class UnprocessableError(ApiError):
    status = 422
    default_code = "unprocessable"


class UnscreenableError(UnprocessableError):
    """The request was well formed, but the engine refused to judge this call attempt."""

    default_code = "unscreenable"


class InternalError(ApiError):
    status = 500
    default_code = "internal_error"


class NotReadyError(ApiError):
    status = 503
    default_code = "not_ready"


class EngineUnavailableError(ConfigError):
    """The screening engine cannot be found or built; the message says what to do."""
