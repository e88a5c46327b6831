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
from typing import Any, ClassVar, Dict, Iterator, Literal, Optional, Tuple, Union, cast

from s3keep._s3keep import BackupId
from s3keep.exceptions import S3KeepError, _from_dict

__all__ = [
    "BackupInfo",
    "RestoreReport",
    "VerifyReport",
    "VerifyProblem",
    "PlanEntry",
    "PruneReport",
    "CleanupReport",
    "AbortedUpload",
    "CheckReport",
    "CheckResult",
]

Status = Literal["IN_PROGRESS", "COMPLETED", "FAILED", "DELETING", "DOES_NOT_EXIST"]
Document = Dict[str, Any]


def _time(text: Optional[str]) -> Optional[datetime]:
    """A timestamp of the schema (``2024-05-01T13:45:12.500Z``) as a UTC ``datetime``."""
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


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

    def _str(self, key: str) -> str:
        return str(self._doc[key])

    def _opt_str(self, key: str) -> Optional[str]:
        value = self._doc[key]
        return None if value is None else str(value)

    def _int(self, key: str) -> int:
        return int(self._doc[key])

    def _opt_int(self, key: str) -> Optional[int]:
        value = self._doc[key]
        return None if value is None else int(value)

    def _id(self) -> BackupId:
        return BackupId.parse(self._str("id"))


def _show(value: object) -> str:
    if isinstance(value, BackupId):
        return repr(str(value))
    if isinstance(value, datetime):
        return repr(value.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
    if isinstance(value, tuple):
        return str(len(value))
    return repr(value)


class BackupInfo(_Result):
    """One backup as ``status``, ``list``, ``save`` and ``mark_failed`` report it.
    ``total_size`` (bytes), ``file_count`` and ``user_metadata`` come from ``metadata.json``:
    set by ``status`` and ``save`` for COMPLETED backups, ``None``/empty in ``list``."""

    __slots__ = ()

    @property
    def id(self) -> BackupId:
        return self._id()

    @property
    def status(self) -> Status:
        return cast(Status, self._str("status"))

    @property
    def failure_reason(self) -> Optional[str]:
        return self._opt_str("failureReason")

    @property
    def created_at(self) -> Optional[datetime]:
        return _time(self._doc["createdAt"])

    @property
    def updated_at(self) -> Optional[datetime]:
        return _time(self._doc["updatedAt"])

    @property
    def writer(self) -> Optional[str]:
        """``s3keep/x.y.z``; ``None`` for backups written by Zeebe."""
        return self._opt_str("writer")

    @property
    def total_size(self) -> Optional[int]:
        return self._opt_int("totalSize")

    @property
    def file_count(self) -> Optional[int]:
        return self._opt_int("fileCount")

    @property
    def user_metadata(self) -> Dict[str, str]:
        """A new dict on each access."""
        return {str(k): str(v) for k, v in self._doc["userMetadata"].items()}

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

    @property
    def id(self) -> BackupId:
        return self._id()

    @property
    def files_restored(self) -> int:
        return self._int("filesRestored")

    @property
    def files_skipped(self) -> int:
        return self._int("filesSkipped")

    @property
    def bytes_restored(self) -> int:
        return self._int("bytesRestored")


class VerifyProblem(_Result):
    """One object that does not match ``metadata.json``."""

    __slots__ = ()
    _shown = ("key", "kind")

    @property
    def key(self) -> str:
        return self._str("key")

    @property
    def kind(self) -> Literal["missing", "size-mismatch", "checksum-mismatch"]:
        return cast(Literal["missing", "size-mismatch", "checksum-mismatch"], self._str("kind"))

    @property
    def expected(self) -> Union[int, str, None]:
        """Size in bytes (``size-mismatch``), CRC32C base64 (``checksum-mismatch``), or None."""
        return cast(Union[int, str, None], self._doc["expected"])

    @property
    def actual(self) -> Union[int, str, None]:
        return cast(Union[int, str, None], self._doc["actual"])

    def __str__(self) -> str:
        return self._str("message")


class VerifyReport(_Result):
    """What ``verify`` found; a damaged backup is a report with problems, not an exception."""

    __slots__ = ()
    _shown = ("id", "ok", "files_checked", "bytes_checked", "problems")

    @property
    def id(self) -> BackupId:
        return self._id()

    @property
    def deep(self) -> bool:
        return bool(self._doc["deep"])

    @property
    def ok(self) -> bool:
        """True when ``problems`` is empty."""
        return bool(self._doc["ok"])

    @property
    def files_checked(self) -> int:
        return self._int("filesChecked")

    @property
    def bytes_checked(self) -> int:
        return self._int("bytesChecked")

    @property
    def problems(self) -> Tuple[VerifyProblem, ...]:
        return tuple(VerifyProblem(p) for p in self._doc["problems"])


class PlanEntry(_Result):
    """The decision of ``prune`` for one backup."""

    __slots__ = ()
    _shown = ("id", "status", "created_at", "action", "reason")

    @property
    def id(self) -> BackupId:
        return self._id()

    @property
    def status(self) -> Status:
        return cast(Status, self._str("status"))

    @property
    def created_at(self) -> datetime:
        return cast(datetime, _time(self._str("createdAt")))

    @property
    def action(self) -> Literal["keep", "delete"]:
        return cast(Literal["keep", "delete"], self._str("action"))

    @property
    def reason(self) -> str:
        """``keep-last``, ``keep-hourly``, ``keep-daily``, ``keep-weekly``, ``keep-monthly``,
        ``keep-yearly``, ``keep-within``, ``newest-completed``, ``empty-policy``,
        ``no-rule-matched``, ``failed``, ``failed-kept``, ``stale-in-progress``,
        ``in-progress``, ``deleting``, ``no-status``."""
        return self._str("reason")

    @property
    def matched(self) -> Tuple[str, ...]:
        """Every keep rule that kept the backup."""
        return tuple(str(r) for r in self._doc["matched"])


class PruneReport(_Result):
    """What ``prune`` returns: every backup with its decision (``entries``, sorted by
    partition, node, checkpoint) and, for an executed plan, the backups ``deleted`` and those
    whose delete ``failed`` (a later prune finishes them). Iterating it iterates ``entries``."""

    __slots__ = ()
    _shown = ("dry_run", "to_keep", "to_delete", "deleted", "failed")

    @property
    def dry_run(self) -> bool:
        return bool(self._doc["dryRun"])

    @property
    def entries(self) -> Tuple[PlanEntry, ...]:
        return tuple(PlanEntry(e) for e in self._doc["entries"])

    @property
    def to_delete(self) -> Tuple[PlanEntry, ...]:
        return tuple(e for e in self.entries if e.action == "delete")

    @property
    def to_keep(self) -> Tuple[PlanEntry, ...]:
        return tuple(e for e in self.entries if e.action == "keep")

    @property
    def deleted(self) -> Tuple[BackupId, ...]:
        """Backups deleted (empty for a dry run)."""
        return tuple(BackupId.parse(str(i)) for i in self._doc["deleted"])

    @property
    def failed(self) -> Tuple[Tuple[BackupId, S3KeepError], ...]:
        """Backups whose delete failed, with the error as an exception."""
        return tuple((BackupId.parse(str(f["id"])), _from_dict(f["error"])) for f in self._doc["failed"])

    def __len__(self) -> int:
        return len(self._doc["entries"])

    def __iter__(self) -> Iterator[PlanEntry]:
        return iter(self.entries)


class AbortedUpload(_Result):
    """A multipart upload ``cleanup_uploads`` aborted."""

    __slots__ = ()
    _shown = ("key", "upload_id", "initiated_at")

    @property
    def key(self) -> str:
        return self._str("key")

    @property
    def upload_id(self) -> str:
        return self._str("uploadId")

    @property
    def initiated_at(self) -> Optional[datetime]:
        return _time(self._doc["initiatedAt"])


class CleanupReport(_Result):
    """What ``cleanup_uploads`` did: the uploads initiated at or before ``cutoff_at`` that it
    aborted. Iterating it iterates ``aborted``."""

    __slots__ = ()
    _shown = ("cutoff_at", "aborted")

    @property
    def cutoff_at(self) -> datetime:
        return cast(datetime, _time(self._str("cutoffAt")))

    @property
    def aborted(self) -> Tuple[AbortedUpload, ...]:
        return tuple(AbortedUpload(u) for u in self._doc["aborted"])

    def __len__(self) -> int:
        return len(self._doc["aborted"])

    def __iter__(self) -> Iterator[AbortedUpload]:
        return iter(self.aborted)


class CheckResult(_Result):
    """One line of ``check()`` (the CLI's ``doctor``)."""

    __slots__ = ()
    _shown = ("name", "state", "message", "hint", "code")

    @property
    def name(self) -> str:
        """``endpoint``, ``credentials``, ``bucket``, ``put``, ``get``, ``list``, ``delete``,
        ``clock`` or ``addressing``."""
        return self._str("name")

    @property
    def state(self) -> Literal["ok", "warning", "failed", "skipped"]:
        return cast(Literal["ok", "warning", "failed", "skipped"], self._str("state"))

    @property
    def message(self) -> str:
        return self._str("message")

    @property
    def hint(self) -> str:
        """What to do about it; empty when fine."""
        return self._str("hint")

    @property
    def code(self) -> Optional[str]:
        return self._opt_str("code")


class CheckReport(_Result):
    """What ``check()`` found: ``ok`` unless a check failed, where it looked, and one line per
    check. Iterating it iterates ``checks``."""

    __slots__ = ()
    _shown = ("ok", "endpoint", "bucket", "prefix", "checks")

    @property
    def ok(self) -> bool:
        return bool(self._doc["ok"])

    @property
    def endpoint(self) -> str:
        return self._str("endpoint")

    @property
    def bucket(self) -> str:
        return self._str("bucket")

    @property
    def prefix(self) -> str:
        return self._str("prefix")

    @property
    def checks(self) -> Tuple[CheckResult, ...]:
        return tuple(CheckResult(c) for c in self._doc["checks"])

    def __len__(self) -> int:
        return len(self._doc["checks"])

    def __iter__(self) -> Iterator[CheckResult]:
        return iter(self.checks)
