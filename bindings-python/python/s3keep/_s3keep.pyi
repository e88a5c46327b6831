# Type stubs of the Rust extension module `s3keep._s3keep` (bindings-python/src/).
# Kept honest by bindings-python/tests/test_typing.py, which runs `mypy --strict` on an
# example using the whole API, and by the tests that call every method.

import builtins
import os
from collections.abc import Awaitable, Mapping, Sequence
from datetime import timedelta
from typing import Callable, Literal, Optional, TypedDict, TypeVar, Union, final

from typing_extensions import ParamSpec, Unpack

from s3keep._results import BackupInfo, CheckReport, CleanupReport, PruneReport, RestoreReport, VerifyReport

__version__: str

__all__ = [
    "__version__",
    "BackupId",
    "BackupStore",
    "RetentionPolicy",
    "cli_main",
]

_StrPath = Union[str, "os.PathLike[str]"]
"""A local path: `str` or `os.PathLike` (e.g. `pathlib.Path`)."""

_BytesLike = Union[bytes, bytearray, memoryview]

_FileSetSource = Union[
    _StrPath,
    Sequence[_StrPath],
    _BytesLike,
    Mapping[str, Union[_BytesLike, _StrPath]],
]
"""What a file set is made of:

- a path: a directory saves its whole tree (names relative to it), a file saves that file
  under its base name;
- a list of paths: files under their base names, directories as trees below their base names;
- bytes: one file named like the set;
- a mapping ``{relative name: bytes or path}``: files under the names given.
"""

class _ZeebeDescriptor(TypedDict, total=False):
    """Zeebe's backup descriptor fields, written to `metadata.json` when given (§3)."""

    checkpoint_position: int
    number_of_partitions: int
    snapshot_id: str

_BackupIdLike = Union["BackupId", str]
"""A `BackupId`, or its text `"PARTITION/CHECKPOINT/NODE"`."""

_ProgressCallback = Callable[[int, int, int, int], object]
"""`progress(bytes_done, bytes_total, files_done, files_total)`: called at most ~10 times a
second and once at the end, in the calling thread (blocking methods) or on the event loop
(`*_async` methods). An exception it raises stops a blocking save or restore (cleanly, as
Ctrl-C does) and propagates."""

_Seconds = Union[timedelta, float, int, str]
"""A duration: a `timedelta`, a number of seconds (kept to whole milliseconds), or the
core's text form such as `"90s"`, `"24h"`, `"1h30m"` (units ms, s, m, h, d, w)."""

_P = ParamSpec("_P")
_R = TypeVar("_R")

def _async_twin(method: Callable[_P, _R]) -> Callable[_P, Awaitable[_R]]:
    """Types the `*_async` twin of a method: the same arguments, an awaitable of its result."""

class _StoreOptions(TypedDict, total=False):
    """The store options (docs/OPTIONS.md), by their canonical names; `None` = not given.
    Sizes are bytes or text such as `"16MiB"`. Unset ones come from the URL, `S3KEEP_*`,
    `AWS_*` variables, the shared profile, then the defaults; a bad value raises
    `InvalidInput` naming the option."""

    prefix: Optional[str]
    endpoint: Optional[str]
    region: Optional[str]
    access_key_id: Optional[str]
    secret_access_key: Optional[str]
    session_token: Optional[str]
    profile: Optional[str]
    addressing: Optional[Literal["auto", "path", "virtual"]]
    create_bucket: Optional[Union[bool, str]]
    concurrency: Optional[Union[int, str]]
    part_size: Optional[Union[int, str]]
    multipart_threshold: Optional[Union[int, str]]
    max_attempts: Optional[Union[int, str]]
    max_elapsed: Optional[_Seconds]
    connect_timeout: Optional[_Seconds]
    request_timeout: Optional[_Seconds]
    read_timeout: Optional[_Seconds]
    checksum: Optional[Literal["crc32c", "md5"]]
    signed_payload: Optional[Union[bool, str]]
    stale_after: Optional[_Seconds]
    format: Optional[Union[Literal[1, 2], str]]
    ca_bundle: Optional[str]
    follow_symlinks: Optional[Union[bool, str]]
    on_file_error: Optional[Literal["fail", "skip"]]
    single_writer: Optional[Union[bool, str]]
    password: Optional[str]
    password_file: Optional[str]
    recipients: Optional[str]
    identity: Optional[str]
    identity_file: Optional[str]
    mac_key: Optional[str]
    object_lock: Optional[Literal["governance", "compliance"]]
    lock_policy: Optional[str]
    source_access_key_id: Optional[str]
    source_secret_access_key: Optional[str]
    source_session_token: Optional[str]
    source_profile: Optional[str]

class _ConfigReport(TypedDict):
    """`BackupStore.config()`: the effective options, secrets as `"***"` (docs/OPTIONS.md).
    Sizes and durations in the text form the options take; `sources` maps each field not
    at its default to `"option"`, `"url"`, an environment variable name or `"profile"`."""

    bucket: str
    prefix: str
    endpoint: Optional[str]
    region: str
    accessKeyId: Optional[str]
    secretAccessKey: Optional[str]
    sessionToken: Optional[str]
    profile: Optional[str]
    addressing: str
    createBucket: bool
    concurrency: int
    partSize: str
    multipartThreshold: str
    maxAttempts: int
    maxElapsed: str
    connectTimeout: str
    requestTimeout: str
    readTimeout: str
    checksum: str
    signedPayload: bool
    staleAfter: str
    format: Optional[int]
    caBundle: Optional[str]
    followSymlinks: bool
    onFileError: str
    singleWriter: bool
    password: Optional[str]
    passwordFile: Optional[str]
    recipients: list[str]
    identity: Optional[str]
    identityFile: Optional[str]
    macKey: Optional[str]
    objectLock: Optional[str]
    lockPolicy: Optional[str]
    sourceAccessKeyId: Optional[str]
    sourceSecretAccessKey: Optional[str]
    sourceSessionToken: Optional[str]
    sourceProfile: Optional[str]
    sources: dict[str, str]

@final
class BackupId:
    """Identifies one backup: Zeebe's partition / checkpoint / node. Immutable, hashable,
    ordered; `str(id)` is `"PARTITION/CHECKPOINT/NODE"`."""

    def __new__(cls, partition: int, checkpoint: int, node: int) -> BackupId: ...
    @staticmethod
    def parse(text: str) -> BackupId:
        """Parses `"P/C/N"`; raises `InvalidInput` (a `ValueError`) otherwise."""
    @staticmethod
    def now(partition: int = 0, node: int = 0) -> BackupId:
        """An id whose checkpoint is the current Unix time in milliseconds."""
    @property
    def partition(self) -> int: ...
    @property
    def checkpoint(self) -> int: ...
    @property
    def node(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __lt__(self, value: BackupId, /) -> bool: ...
    def __le__(self, value: BackupId, /) -> bool: ...
    def __gt__(self, value: BackupId, /) -> bool: ...
    def __ge__(self, value: BackupId, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class RetentionPolicy:
    """What `prune` keeps (restic's semantics, per (partition, node), COMPLETED backups by
    `created_at`). A backup is kept if any rule keeps it. An empty policy deletes nothing;
    the newest COMPLETED backup of a group is never deleted; FAILED backups go only with
    `prune_failed`, IN_PROGRESS ones only with `prune_stale` once older than `stale_after`."""

    def __new__(
        cls,
        *,
        keep_last: Optional[int] = None,
        keep_hourly: Optional[int] = None,
        keep_daily: Optional[int] = None,
        keep_weekly: Optional[int] = None,
        keep_monthly: Optional[int] = None,
        keep_yearly: Optional[int] = None,
        keep_within: Optional[_Seconds] = None,
        prune_failed: bool = False,
        prune_stale: bool = False,
        stale_after: Optional[_Seconds] = None,
    ) -> RetentionPolicy: ...
    @property
    def keep_last(self) -> Optional[int]: ...
    @property
    def keep_hourly(self) -> Optional[int]: ...
    @property
    def keep_daily(self) -> Optional[int]: ...
    @property
    def keep_weekly(self) -> Optional[int]: ...
    @property
    def keep_monthly(self) -> Optional[int]: ...
    @property
    def keep_yearly(self) -> Optional[int]: ...
    @property
    def keep_within(self) -> Optional[timedelta]: ...
    @property
    def prune_failed(self) -> bool: ...
    @property
    def prune_stale(self) -> bool: ...
    @property
    def stale_after(self) -> Optional[timedelta]:
        """`None`: the store's `stale_after` option (24 h unless set)."""
    @property
    def is_empty(self) -> bool: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class BackupStore:
    """One bucket and prefix of an S3-compatible store, holding backups.

    Options (`_StoreOptions`) not given come from the URL, the `S3KEEP_*` variables, the
    AWS ones (`AWS_REGION`, `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`,
    `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the shared profile,
    then the defaults. Creating a store sends no request.

    Every method blocks with the GIL released and has an `*_async` twin returning an
    awaitable. Ctrl-C during `save`/`restore` cancels it cleanly (FAILED, uploads aborted)
    and raises `KeyboardInterrupt`.
    """

    def __new__(cls, bucket: str, **options: Unpack[_StoreOptions]) -> BackupStore: ...
    @staticmethod
    def from_url(url: str, *, bucket: Optional[str] = None, **options: Unpack[_StoreOptions]) -> BackupStore:
        """`s3://BUCKET[/PREFIX][?key=value&...]` (any option but the credentials in the
        query); keyword arguments win over the URL's parts. Raises `InvalidInput` for a
        malformed URL, naming the wrong part."""
    @staticmethod
    def from_env(bucket: Optional[str] = None, **options: Unpack[_StoreOptions]) -> BackupStore:
        """The store the CLI would use: `S3KEEP_URL`, `S3KEEP_BUCKET`, `S3KEEP_PREFIX`...
        (arguments win). Raises `InvalidInput` without a bucket."""
    def config(self) -> _ConfigReport:
        """The effective options, without secrets: the document of `s3keep config --json`."""
    @property
    def bucket(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def endpoint(self) -> Optional[str]: ...
    @property
    def region(self) -> str: ...

    def save(
        self,
        id: _BackupIdLike,
        file_sets: Mapping[str, _FileSetSource],
        *,
        metadata: Optional[Mapping[str, str]] = None,
        descriptor: Optional[_ZeebeDescriptor] = None,
        progress: Optional[_ProgressCallback] = None,
    ) -> BackupInfo:
        """Saves the file sets as backup `id` and returns its (COMPLETED) status.

        Set names match `[a-z0-9][a-z0-9_-]{0,62}`; file names are relative paths without
        `.`/`..` components. Raises `InvalidInput` for bad names (nothing is sent),
        `BackupAlreadyExists` if `id` exists (it is left untouched), `Io` for unreadable
        files; `descriptor` (Zeebe's `checkpoint_position`, `number_of_partitions`,
        `snapshot_id`) goes into `metadata.json`; after any transfer error the backup is FAILED and its uploads aborted."""
    save_async = _async_twin(save)
    def status(self, id: _BackupIdLike) -> BackupInfo:
        """The backup's status; `DOES_NOT_EXIST` (not an exception) when there is none."""
    status_async = _async_twin(status)
    def list(
        self,
        partition: Optional[int] = None,
        checkpoint: Optional[int] = None,
        node: Optional[int] = None,
    ) -> builtins.list[BackupInfo]:
        """Every backup matching the filter (None matches all), sorted by (partition, node,
        checkpoint); size, file count and metadata are left to `status`."""
    list_async = _async_twin(list)
    def restore(
        self,
        id: _BackupIdLike,
        target: _StrPath,
        *,
        sets: Optional[Sequence[str]] = None,
        root_set: Optional[str] = "files",
        progress: Optional[_ProgressCallback] = None,
    ) -> RestoreReport:
        """Restores a COMPLETED backup into the directory `target`: the set `root_set`
        straight into it, every other set into `target/NAME/` (`root_set=None`: every set in
        its own directory); `sets` restores only those. Files are CRC32C-checked and renamed
        into place; files already present and intact are skipped, so running it again
        resumes it. Raises `NotFound`, `BackupNotCompleted`, `InvalidInput` (unknown set),
        `Integrity`, `Io`."""
    restore_async = _async_twin(restore)
    def mark_failed(self, id: _BackupIdLike, reason: str) -> BackupInfo:
        """IN_PROGRESS → FAILED (Zeebe's markFailed). Raises `NotFound`, or `Conflict` for a
        COMPLETED or DELETING backup."""
    mark_failed_async = _async_twin(mark_failed)
    def delete(self, id: _BackupIdLike, *, force: bool = False) -> int:
        """Deletes every object of the backup; returns how many. Raises `NotFound`, or
        `Conflict` for a fresh IN_PROGRESS backup unless `force`."""
    delete_async = _async_twin(delete)
    def verify(self, id: _BackupIdLike, *, deep: bool = False) -> VerifyReport:
        """Checks every file of `metadata.json` exists with its size; `deep` downloads them
        again and checks CRC32C. Raises `NotFound`, `BackupNotCompleted`."""
    verify_async = _async_twin(verify)
    def prune(self, policy: RetentionPolicy, *, dry_run: bool = True) -> PruneReport:
        """Plans retention and, with `dry_run=False`, deletes what the plan says."""
    prune_async = _async_twin(prune)
    def cleanup_uploads(self, older_than: Optional[_Seconds] = None) -> CleanupReport:
        """Aborts the multipart uploads under the prefix older than `older_than` (default:
        `stale_after`, 24 h) — orphans of crashed saves. Reports those aborted."""
    cleanup_uploads_async = _async_twin(cleanup_uploads)
    def check(self) -> CheckReport:
        """The connectivity and permission probe (`s3keep doctor`); never raises for a
        failed check: each is a line of the report."""
    check_async = _async_twin(check)

def cli_main(argv: Sequence[str]) -> int:
    """Runs the `s3keep` command line (program name first) and returns its exit code."""
