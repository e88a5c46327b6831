"""s3keep: crash-safe backups in S3-compatible object storage (AWS S3, MinIO, Ceph, R2, ...).

::

    from s3keep import BackupStore, BackupId

    store = BackupStore("my-bucket", prefix="db/", endpoint="http://127.0.0.1:9000")
    id = BackupId(0, 1700000000000, 0)            # partition, checkpoint, node
    store.save(id, {"files": "/var/backups/db"})  # a directory saves its whole tree
    store.restore(id, "/tmp/restored")

Every method releases the GIL while it waits on the network and has an ``*_async`` twin for
asyncio (``await store.save_async(...)``). Ctrl-C cancels a running save or restore cleanly
(the backup is marked FAILED, multipart uploads are aborted) and raises ``KeyboardInterrupt``.
Errors are subclasses of :class:`S3KeepError` (see :mod:`s3keep.exceptions`). Results are
immutable objects whose ``to_dict()`` is the JSON document ``s3keep --json`` prints
(docs/SCHEMA.md).
"""

from s3keep._s3keep import BackupId, BackupStore, RetentionPolicy, __version__
from s3keep import _results, exceptions
from s3keep._results import *  # noqa: F403  (the result classes, listed in _results.__all__)
from s3keep.exceptions import *  # noqa: F403  (the exception classes, listed in exceptions.__all__)

__all__ = ["__version__", "BackupStore", "BackupId", "RetentionPolicy"]
__all__ += _results.__all__
__all__ += exceptions.__all__
