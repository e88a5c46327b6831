"""What the store's methods return.

Each result is a document of the core's one JSON schema (docs/SCHEMA.md): ``to_dict()`` gives
it exactly as ``s3keep --json`` prints it and the JavaScript package returns it (camelCase;
checkpoints as strings; timestamps as RFC 3339 text). The attributes read the same document
with Python types: ``BackupId``, tz-aware UTC ``datetime``, ``int``. Results are immutable and
equal when their documents are equal.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Callable, ClassVar, Dict, Generic, Iterator, Literal, Optional, Tuple, TypeVar, Union, overload

from s3keep._s3keep import BackupId
from s3keep.exceptions import S3KeepError, _from_dict

__all__ = [
    "BackupInfo",
    "RestoreReport",
    "VerifyReport",
    "VerifyProblem",
    "PlanEntry",
    "PruneReport",
    "GcReport",
    "CleanupReport",
    "AbortedUpload",
    "CheckReport",
    "CheckResult",
]

Status = Literal["IN_PROGRESS", "COMPLETED", "FAILED", "DELETING", "DOES_NOT_EXIST", "CORRUPT"]
Document = Dict[str, Any]
T = TypeVar("T")


def _time(text: str) -> datetime:
    """A timestamp of the schema (``2024-05-01T13:45:12.500Z``) as a UTC ``datetime``."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _as_is(value: Any) -> Any:
    return value


def _optional(convert: Callable[[Any], T]) -> Callable[[Any], Optional[T]]:
    return lambda value: None if value is None else convert(value)


def _each(convert: Callable[[Any], T]) -> Callable[[Any], Tuple[T, ...]]:
    return lambda values: tuple(convert(v) for v in values)


class _Field(Generic[T]):
    """An attribute reading the document's field `key` through `convert`."""

    def __init__(self, key: str, convert: Callable[[Any], T]) -> None:
        self.key, self.convert = key, convert

    @overload
    def __get__(self, result: None, owner: object) -> _Field[T]: ...
    @overload
    def __get__(self, result: _Result, owner: object) -> T: ...
    def __get__(self, result: Optional[_Result], owner: object) -> Union[T, _Field[T]]:
        return self if result is None else self.convert(result._doc[self.key])


class _Result:
    __slots__ = ("_doc",)
    _doc: Document
    #: The attributes `repr` shows.
    _shown: ClassVar[Tuple[str, ...]] = ()

    def __init__(self, doc: Document) -> None:
        object.__setattr__(self, "_doc", doc)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def to_dict(self) -> Document:
        """The result's JSON document (docs/SCHEMA.md), as ``s3keep --json`` prints it; a new
        copy on each call."""
        return copy.deepcopy(self._doc)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Result) and type(other) is type(self) and other._doc == self._doc

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={_show(getattr(self, name))}" for name in self._shown)
        return f"{type(self).__name__}({shown})"


def _show(value: object) -> str:
    if isinstance(value, BackupId):
        return repr(str(value))
    if isinstance(value, datetime):
        return repr(value.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
    if isinstance(value, tuple):
        return str(len(value))
    return repr(value)


class _Listing(_Result, Generic[T]):
    """A result that is a sequence of the items in its field `_items`."""

    __slots__ = ()
    _items: ClassVar[str]

    def __len__(self) -> int:
        return len(getattr(self, self._items))

    def __iter__(self) -> Iterator[T]:
        return iter(getattr(self, self._items))


_ID: _Field[BackupId] = _Field("id", BackupId.parse)


class BackupInfo(_Result):
    """One backup as ``status``, ``list``, ``save`` and ``mark_failed`` report it.
    ``total_size`` (bytes), ``file_count`` and ``user_metadata`` come from ``metadata.json``:
    set by ``status`` and ``save`` for COMPLETED backups, ``None``/empty in ``list``;
    ``writer`` is ``None`` for backups written by Zeebe."""

    __slots__ = ()
    id = _ID
    status: _Field[Status] = _Field("status", _as_is)
    failure_reason = _Field("failureReason", _optional(str))
    created_at = _Field("createdAt", _optional(_time))
    updated_at = _Field("updatedAt", _optional(_time))
    writer = _Field("writer", _optional(str))
    total_size = _Field("totalSize", _optional(int))
    file_count = _Field("fileCount", _optional(int))
    #: A new dict on each access.
    user_metadata: _Field[Dict[str, str]] = _Field("userMetadata", dict)

    def __repr__(self) -> str:
        shown = [f"id={_show(self.id)}", f"status={self.status!r}", f"created_at={_show(self.created_at)}"]
        if self.failure_reason is not None:
            shown.append(f"failure_reason={self.failure_reason!r}")
        if self.file_count is not None or self.total_size is not None:
            shown.append(f"file_count={self.file_count}, total_size={self.total_size}")
        return f"BackupInfo({', '.join(shown)})"


class RestoreReport(_Result):
    """What ``restore`` did: files downloaded, files already present and intact (skipped, as
    when a restore is run again), bytes written."""

    __slots__ = ()
    _shown = ("id", "files_restored", "files_skipped", "bytes_restored")
    id = _ID
    files_restored = _Field("filesRestored", int)
    files_skipped = _Field("filesSkipped", int)
    bytes_restored = _Field("bytesRestored", int)


class VerifyProblem(_Result):
    """One object that does not match ``metadata.json``: ``expected`` and ``actual`` are sizes
    in bytes (``size-mismatch``), CRC32C in base64 (``checksum-mismatch``) or None
    (``missing``; ``corrupt``, a damaged pack of a format 2 store, whose ``str()`` says why)."""

    __slots__ = ()
    _shown = ("key", "kind")
    key = _Field("key", str)
    kind: _Field[Literal["missing", "size-mismatch", "checksum-mismatch", "corrupt"]] = _Field("kind", _as_is)
    expected: _Field[Union[int, str, None]] = _Field("expected", _as_is)
    actual: _Field[Union[int, str, None]] = _Field("actual", _as_is)

    def __str__(self) -> str:
        return str(self._doc["message"])


class VerifyReport(_Result):
    """What ``verify`` found; a damaged backup is a report with problems, not an exception.
    ``ok`` is true when ``problems`` is empty. ``notes`` are lines worth knowing but not wrong
    (format 2: packs no COMPLETED backup uses, which the next prune deletes)."""

    __slots__ = ()
    _shown = ("id", "ok", "files_checked", "bytes_checked", "problems")
    id = _ID
    deep = _Field("deep", bool)
    ok = _Field("ok", bool)
    files_checked = _Field("filesChecked", int)
    bytes_checked = _Field("bytesChecked", int)
    problems = _Field("problems", _each(VerifyProblem))
    notes = _Field("notes", _each(str))


class PlanEntry(_Result):
    """The decision of ``prune`` for one backup. ``reason`` is the deciding rule:
    ``keep-last``, ``keep-hourly``, ``keep-daily``, ``keep-weekly``, ``keep-monthly``,
    ``keep-yearly``, ``keep-within``, ``newest-completed``, ``empty-policy``,
    ``no-rule-matched``, ``failed``, ``failed-kept``, ``stale-in-progress``, ``in-progress``,
    ``deleting``, ``no-status``, ``corrupt-status``; ``matched`` every keep rule that kept the backup."""

    __slots__ = ()
    _shown = ("id", "status", "created_at", "action", "reason")
    id = _ID
    status: _Field[Status] = _Field("status", _as_is)
    created_at = _Field("createdAt", _time)
    action: _Field[Literal["keep", "delete"]] = _Field("action", _as_is)
    reason = _Field("reason", str)
    matched = _Field("matched", _each(str))


def _failure(doc: Document) -> Tuple[BackupId, S3KeepError]:
    return BackupId.parse(str(doc["id"])), _from_dict(doc["error"])


class GcReport(_Result):
    """What garbage collection of a format 2 store did (an executed ``prune``): counts of
    backups and packs, ``bytes_deleted`` in bytes. Packs no backup uses are kept while younger
    than the lock stale limit (``packs_too_young``); a later prune deletes them."""

    __slots__ = ()
    _shown = ("packs_deleted", "bytes_deleted", "packs_used", "packs_too_young")
    backups_referenced = _Field("backupsReferenced", int)
    packs_used = _Field("packsUsed", int)
    packs_too_young = _Field("packsTooYoung", int)
    packs_deleted = _Field("packsDeleted", int)
    bytes_deleted = _Field("bytesDeleted", int)
    index_objects_written = _Field("indexObjectsWritten", int)
    index_objects_deleted = _Field("indexObjectsDeleted", int)


class PruneReport(_Listing[PlanEntry]):
    """What ``prune`` returns: every backup with its decision (``entries``, sorted by
    partition, node, checkpoint) and, for an executed plan, the backups ``deleted`` and those
    whose delete ``failed`` with the error (a later prune finishes them); ``gc`` is what
    garbage collection did, for an executed prune of a format 2 store (else None). Iterating
    it iterates ``entries``."""

    __slots__ = ()
    _shown = ("dry_run", "to_keep", "to_delete", "deleted", "failed")
    _items = "entries"
    dry_run = _Field("dryRun", bool)
    entries = _Field("entries", _each(PlanEntry))
    deleted = _Field("deleted", _each(BackupId.parse))
    failed = _Field("failed", _each(_failure))
    gc = _Field("gc", _optional(GcReport))

    @property
    def to_delete(self) -> Tuple[PlanEntry, ...]:
        return tuple(e for e in self.entries if e.action == "delete")

    @property
    def to_keep(self) -> Tuple[PlanEntry, ...]:
        return tuple(e for e in self.entries if e.action == "keep")


class AbortedUpload(_Result):
    """A multipart upload ``cleanup_uploads`` aborted."""

    __slots__ = ()
    _shown = ("key", "upload_id", "initiated_at")
    key = _Field("key", str)
    upload_id = _Field("uploadId", str)
    initiated_at = _Field("initiatedAt", _optional(_time))


class CleanupReport(_Listing[AbortedUpload]):
    """What ``cleanup_uploads`` did: the uploads initiated at or before ``cutoff_at`` that it
    aborted. Iterating it iterates ``aborted``."""

    __slots__ = ()
    _shown = ("cutoff_at", "aborted")
    _items = "aborted"
    cutoff_at = _Field("cutoffAt", _time)
    aborted = _Field("aborted", _each(AbortedUpload))


class CheckResult(_Result):
    """One line of ``check()`` (the CLI's ``doctor``): ``name`` is ``endpoint``,
    ``credentials``, ``bucket``, ``put``, ``get``, ``list``, ``delete``, ``clock`` or
    ``addressing``; ``hint`` says what to do (empty when fine)."""

    __slots__ = ()
    _shown = ("name", "state", "message", "hint", "code")
    name = _Field("name", str)
    state: _Field[Literal["ok", "warning", "failed", "skipped"]] = _Field("state", _as_is)
    message = _Field("message", str)
    hint = _Field("hint", str)
    code = _Field("code", _optional(str))


class CheckReport(_Listing[CheckResult]):
    """What ``check()`` found: ``ok`` unless a check failed, where it looked, and one line per
    check. Iterating it iterates ``checks``."""

    __slots__ = ()
    _shown = ("ok", "endpoint", "bucket", "prefix", "checks")
    _items = "checks"
    ok = _Field("ok", bool)
    endpoint = _Field("endpoint", str)
    bucket = _Field("bucket", str)
    prefix = _Field("prefix", str)
    checks = _Field("checks", _each(CheckResult))
