"""The exceptions s3keep raises: one class per error of the Rust core (§6).

Every exception derives from :class:`S3KeepError`, so ``except s3keep.S3KeepError`` catches
all of them. Some also derive from the built-in exception a Python programmer would reach
for first, so that generic handlers keep working:

=========================  =============================================================
class                      also an instance of
=========================  =============================================================
``NotFound``               ``LookupError`` (not ``FileNotFoundError``: a missing backup
                           is not a missing local file, and must not be caught by
                           ``except OSError``)
``NoSuchBucket``           ``LookupError`` (deliberately *not* a ``NotFound``: a wrong
                           bucket is a configuration error, not a missing backup)
``AccessDenied``           ``PermissionError``
``Network``                ``ConnectionError``
``Timeout``                ``TimeoutError``
``InvalidInput``           ``ValueError``
``Io``                     ``OSError`` (with ``errno``, ``strerror`` and ``filename`` when
                           the operating system gave them)
everything else            only ``S3KeepError`` (``BackupAlreadyExists``,
                           ``BackupNotCompleted``, ``InvalidCredentials``, ``ClockSkew``,
                           ``Throttled``, ``Integrity``, ``Conflict``, ``Cancelled``,
                           ``Redirect``, ``S3Error``)
=========================  =============================================================

Ctrl-C during a blocking call raises the built-in ``KeyboardInterrupt`` (after the running
save or restore has been cancelled cleanly), never ``Cancelled``; cancelling an ``*_async``
call raises ``asyncio.CancelledError`` as usual. ``Cancelled`` is only seen when the core
reports a cancellation it was not asked for by this process.

Attributes of every exception: ``code`` (the S3 error code, e.g. ``"NoSuchKey"``; for
``BackupNotCompleted`` the backup's status), ``status`` (HTTP status), ``request_id``
(``x-amz-request-id``, for the store's support), ``key`` (object key, backup id or local
path concerned), ``endpoint`` and ``hint`` (what to do about it). Each may be ``None``.
Secrets never appear in messages or attributes.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

__all__ = [
    "S3KeepError",
    "NoSuchBucket",
    "NotFound",
    "BackupAlreadyExists",
    "BackupNotCompleted",
    "AccessDenied",
    "InvalidCredentials",
    "ClockSkew",
    "Throttled",
    "Network",
    "Timeout",
    "InvalidInput",
    "Integrity",
    "Conflict",
    "Io",
    "Cancelled",
    "Redirect",
    "S3Error",
]


class S3KeepError(Exception):
    """Base class of every s3keep error."""

    code: Optional[str]
    status: Optional[int]
    request_id: Optional[str]
    key: Optional[str]
    endpoint: Optional[str]
    hint: Optional[str]

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        status: Optional[int] = None,
        request_id: Optional[str] = None,
        key: Optional[str] = None,
        endpoint: Optional[str] = None,
        hint: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id
        self.key = key
        self.endpoint = endpoint
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        fields = [repr(self.message)]
        for name in ("code", "status", "request_id", "key"):
            value = getattr(self, name)
            if value is not None:
                fields.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(fields)})"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keeps the attributes across pickling (multiprocessing, concurrent.futures).
        attrs = {k: getattr(self, k) for k in ("code", "status", "request_id", "key", "endpoint", "hint")}
        state = dict(self.__dict__)
        if isinstance(self, OSError):
            state.update(errno=self.errno, strerror=self.strerror, filename=self.filename)
        return (_rebuild, (type(self), self.message, attrs, state))


def _rebuild(cls: type, message: str, attrs: dict, state: dict) -> S3KeepError:  # type: ignore[type-arg]
    exc: S3KeepError = cls(message, **attrs)
    for name, value in state.items():
        setattr(exc, name, value)
    return exc


class NoSuchBucket(S3KeepError, LookupError):
    """The bucket does not exist (S3 ``NoSuchBucket``): create it or pass ``create_bucket=True``."""


class NotFound(S3KeepError, LookupError):
    """The backup or object does not exist (S3 ``NoSuchKey``, HTTP 404)."""


class BackupAlreadyExists(S3KeepError):
    """``save`` found a backup with this id; it was left untouched (ids are never reused)."""


class BackupNotCompleted(S3KeepError):
    """The operation needs a COMPLETED backup; ``code`` holds the backup's status."""


class AccessDenied(S3KeepError, PermissionError):
    """The credentials lack a permission (S3 ``AccessDenied``, HTTP 403)."""


class InvalidCredentials(S3KeepError):
    """Wrong access key or secret (``InvalidAccessKeyId``, ``SignatureDoesNotMatch``)."""


class ClockSkew(S3KeepError):
    """The local clock is too far from the store's (``RequestTimeTooSkewed``)."""


class Throttled(S3KeepError):
    """The store kept answering ``SlowDown``/503/429 after every retry."""


class Network(S3KeepError, ConnectionError):
    """The endpoint could not be reached (connection refused or reset, DNS), after retries."""


class Timeout(S3KeepError, TimeoutError):
    """A request, or its whole retry budget, ran out of time."""


class InvalidInput(S3KeepError, ValueError):
    """Bad input (backup id, set or file name, configuration), rejected before any request."""


class Integrity(S3KeepError):
    """A checksum did not match: data was corrupted in transit or at rest."""


class Conflict(S3KeepError):
    """A precondition failed (HTTP 412) or a concurrent change conflicted (HTTP 409)."""


class Io(S3KeepError, OSError):
    """A local file could not be read or written."""


class Cancelled(S3KeepError):
    """The core reported a cancellation (Ctrl-C raises ``KeyboardInterrupt`` instead)."""


class Redirect(S3KeepError):
    """The store answered with a redirect (``PermanentRedirect`` 301, ``TemporaryRedirect`` 307)
    to another endpoint or region. It is never followed, so that the credentials and the data
    never go to another host: set ``endpoint``/``region`` to what the message names."""


class S3Error(S3KeepError):
    """Any other error answered by the store; ``code`` names it."""


def _from_dict(doc: Dict[str, Any]) -> S3KeepError:
    """The exception of an error document (docs/SCHEMA.md): every error the core raises,
    and those inside a prune's failed deletes. The class of its ``kind``, its ``message``
    and details."""
    kind = str(doc["kind"])
    cls = globals().get("S3Error" if kind == "S3" else kind)
    if not (isinstance(cls, type) and issubclass(cls, S3KeepError)):
        cls = S3KeepError
    return cls(str(doc["message"]), code=doc["code"], status=doc["status"], request_id=doc["requestId"],
               key=doc["key"], endpoint=doc["endpoint"], hint=doc["hint"])
