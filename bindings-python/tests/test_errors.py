"""Each error of §6 reaches Python as its own exception class, with its details."""

from __future__ import annotations

import errno
import pickle
import socket
import traceback
from pathlib import Path
from typing import Any, Callable

import pytest

import s3keep


def test_restoring_a_missing_backup_raises_not_found(store: s3keep.BackupStore, tmp_path: Path) -> None:
    store.save("0/1/0", {"files": {"f": b"x"}})
    with pytest.raises(s3keep.NotFound) as err:
        store.restore("0/2/0", tmp_path)
    e = err.value
    assert isinstance(e, s3keep.S3KeepError) and isinstance(e, LookupError)
    assert not isinstance(e, OSError)
    assert e.key == "0/2/0" and "0/2/0" in str(e) and e.hint
    for call in (lambda: store.delete("0/2/0"), lambda: store.verify("0/2/0")):
        with pytest.raises(s3keep.NotFound):
            call()


@pytest.mark.parametrize("format", [1, 2], ids=["format1", "format2"])
def test_saving_an_existing_id_raises_backup_already_exists(make_store: Callable[..., s3keep.BackupStore], s3: Any, bucket_name: str, tmp_path: Path, format: int) -> None:
    store = make_store(prefix="backups/", format=format)
    store.save("0/1/0", {"files": {"f": b"first"}})
    with pytest.raises(s3keep.BackupAlreadyExists) as err:
        store.save("0/1/0", {"files": {"f": b"second"}})
    assert err.value.key == "0/1/0" and err.value.status == 412
    if format == 1:  # format 1 keeps the file as its own object
        body = s3.get_object(Bucket=bucket_name, Key="backups/0/1/0/files/f")["Body"].read()
        assert body == b"first"  # never overwritten
    store.restore("0/1/0", tmp_path / "out")
    assert (tmp_path / "out" / "f").read_bytes() == b"first"  # never overwritten
    assert store.status("0/1/0").status == "COMPLETED"
    assert store.verify("0/1/0", deep=True).ok


def test_restoring_a_failed_backup_raises_backup_not_completed(store: s3keep.BackupStore, s3: Any, bucket_name: str, tmp_path: Path) -> None:
    store.save("0/0/0", {"files": {"f": b"x"}})
    s3.put_object(Bucket=bucket_name, Key="backups/0/1/0/status.json",
                  Body=b'{"statusCode":"FAILED","failureReason":"disk full"}')
    with pytest.raises(s3keep.BackupNotCompleted) as err:
        store.restore("0/1/0", tmp_path / "out")
    assert err.value.code == "FAILED" and err.value.key == "0/1/0"
    assert not (tmp_path / "out").exists()
    with pytest.raises(s3keep.BackupNotCompleted):
        store.verify("0/1/0")


def test_a_wrong_secret_raises_invalid_credentials(make_store: Callable[..., s3keep.BackupStore], store: s3keep.BackupStore) -> None:
    store.save("0/1/0", {"files": {"f": b"x"}})
    bad = make_store(secret_access_key="not-the-secret", create_bucket=False)
    with pytest.raises(s3keep.InvalidCredentials) as err:
        bad.status("0/1/0")
    e = err.value
    assert e.code == "SignatureDoesNotMatch" and e.status == 403 and e.request_id
    assert "not-the-secret" not in str(e) and "not-the-secret" not in repr(e)


def test_a_missing_bucket_raises_no_such_bucket(make_store: Callable[..., s3keep.BackupStore], tmp_path: Path) -> None:
    store = make_store(create_bucket=False)
    with pytest.raises(s3keep.NoSuchBucket) as err:
        store.save("0/1/0", {"files": {"f": b"x"}})
    assert err.value.code == "NoSuchBucket" and err.value.status == 404
    assert isinstance(err.value, LookupError) and not isinstance(err.value, s3keep.NotFound)
    with pytest.raises(s3keep.NoSuchBucket):
        store.list()


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/passwd", "a\\b", "", "a/./b"])
def test_unsafe_file_names_raise_invalid_input_before_any_request(store: s3keep.BackupStore, s3: Any, bucket_name: str, name: str) -> None:
    store.save("0/0/0", {"files": {"ok": b"x"}})  # creates the bucket
    with pytest.raises(s3keep.InvalidInput) as err:
        store.save("0/1/0", {"files": {name: b"data"}})
    assert isinstance(err.value, ValueError)
    assert store.status("0/1/0").status == "DOES_NOT_EXIST"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket_name).get("Contents", [])]
    assert not any(k.startswith("backups/0/1/0/") for k in keys)


def test_bad_set_names_and_ids_raise_invalid_input(store: s3keep.BackupStore) -> None:
    for sets in ({"Bad Name": b"x"}, {"../up": b"x"}):
        with pytest.raises(s3keep.InvalidInput):
            store.save("0/1/0", sets)
    for bad in ("1/2", "a/b/c", "-1/2/3"):
        with pytest.raises(s3keep.InvalidInput):
            store.status(bad)
    with pytest.raises(TypeError):
        store.status(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.save("0/1/0", {"files": 42})  # type: ignore[dict-item]


def test_a_missing_local_file_raises_io_with_errno(store: s3keep.BackupStore, tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist"
    with pytest.raises(s3keep.Io) as err:
        store.save("0/1/0", {"files": missing})
    e = err.value
    assert isinstance(e, OSError) and e.errno == errno.ENOENT
    assert e.filename == str(missing) and str(missing) in str(e)
    assert store.status("0/1/0").status == "DOES_NOT_EXIST"


def test_an_unreachable_endpoint_raises_network(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    store = s3keep.BackupStore("some-bucket", endpoint=f"http://127.0.0.1:{port}", access_key_id="a",
                               secret_access_key="b", max_attempts=2)
    with pytest.raises(s3keep.Network) as err:
        store.status("0/1/0")
    assert isinstance(err.value, ConnectionError)
    assert err.value.endpoint == f"http://127.0.0.1:{port}"


def test_exceptions_survive_pickling_with_their_details() -> None:
    e = s3keep.NotFound("backup 0/1/0 does not exist", code="NoSuchKey", status=404, request_id="R1", key="0/1/0")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is s3keep.NotFound and str(back) == str(e)
    assert (back.code, back.status, back.request_id, back.key) == ("NoSuchKey", 404, "R1", "0/1/0")


def test_the_hierarchy_mirrors_the_core_and_the_builtins() -> None:
    expected_bases = {
        s3keep.NotFound: LookupError,
        s3keep.NoSuchBucket: LookupError,
        s3keep.AccessDenied: PermissionError,
        s3keep.Network: ConnectionError,
        s3keep.Timeout: TimeoutError,
        s3keep.InvalidInput: ValueError,
        s3keep.Io: OSError,
    }
    for cls, base in expected_bases.items():
        assert issubclass(cls, s3keep.S3KeepError) and issubclass(cls, base), cls
    for cls in (s3keep.BackupAlreadyExists, s3keep.BackupNotCompleted, s3keep.InvalidCredentials,
                s3keep.ClockSkew, s3keep.Throttled, s3keep.Integrity, s3keep.Conflict,
                s3keep.Cancelled, s3keep.Redirect, s3keep.S3Error):
        assert issubclass(cls, s3keep.S3KeepError) and not issubclass(cls, (OSError, ValueError, LookupError))


def test_a_prunes_failed_deletes_become_exceptions_of_their_kind() -> None:
    def error(kind: str, status: int) -> dict[str, object]:
        return {"kind": kind, "code": kind, "status": status, "requestId": "R", "key": "0/2/0",
                "endpoint": None, "message": "DeleteObjects failed", "hint": "grant it"}

    doc = {"dryRun": False, "entries": [], "deleted": ["0/1/0"],
           "failed": [{"id": "0/2/0", "error": error("AccessDenied", 403)}, {"id": "0/3/0", "error": error("S3", 500)}]}
    report = s3keep.PruneReport(doc)
    (first_id, first), (second_id, second) = report.failed
    assert (str(first_id), str(second_id)) == ("0/2/0", "0/3/0")
    assert isinstance(first, s3keep.AccessDenied) and isinstance(first, PermissionError)
    assert (first.status, first.request_id, first.hint, str(first)) == (403, "R", "grant it", "DeleteObjects failed")
    assert type(second) is s3keep.S3Error
    assert report.to_dict() == doc and report == s3keep.PruneReport(report.to_dict())


# Issue 16, class 2: a URL or endpoint that carries credentials (user:password@) or a
# presigned-style query is refused, and no part of the exception shows them.
SECRET_URLS = [
    "s3://bkt?endpoint=ftp://AK:SECRET@host",
    "s3://bkt?endpoint=http://AK:SECRET@host&colour=red",
    "s3://bkt?endpoint=http://AK:SECRET@[::1",
    "https://AK:SECRET@host/b",
    "s3://AK:SECRET@host/b",
]
SECRET_ENDPOINTS = [
    "http://AK:SECRET@host:9000",
    "ftp://AK:SECRET@host",
    "http://host:9000/?X-Amz-Signature=SECRET&X-Amz-Security-Token=SECRET",
]


def _everything_shown(e: s3keep.S3KeepError) -> str:
    attrs = [str(getattr(e, name)) for name in ("code", "status", "request_id", "key", "endpoint", "hint")]
    return " ".join([str(e), repr(e), repr(e.args), *attrs, *traceback.format_exception_only(type(e), e)])


@pytest.mark.parametrize("url", SECRET_URLS)
def test_a_url_with_credentials_is_refused_without_showing_them(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    with pytest.raises(s3keep.InvalidInput) as err:
        s3keep.BackupStore.from_url(url, access_key_id="a", secret_access_key="b")
    text = _everything_shown(err.value)
    assert "SECRET" not in text and "AK:" not in text, text
    monkeypatch.setenv("S3KEEP_URL", url)
    with pytest.raises(s3keep.InvalidInput) as err:
        s3keep.BackupStore.from_env(access_key_id="a", secret_access_key="b")
    text = _everything_shown(err.value)
    assert "SECRET" not in text and "AK:" not in text, text


@pytest.mark.parametrize("endpoint", SECRET_ENDPOINTS)
def test_an_endpoint_with_credentials_or_a_query_is_refused_without_showing_them(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(s3keep.InvalidInput) as err:
        s3keep.BackupStore("bkt", endpoint=endpoint, access_key_id="a", secret_access_key="b")
    text = _everything_shown(err.value)
    assert "SECRET" not in text and "AK:" not in text, text
    assert "endpoint" in str(err.value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    with pytest.raises(s3keep.InvalidInput) as err:
        s3keep.BackupStore("bkt", access_key_id="a", secret_access_key="b")
    text = _everything_shown(err.value)
    assert "SECRET" not in text and "AK:" not in text, text
