"""Encrypted stores through the Python binding (docs/FORMAT.md, "Encryption"): the options
are keywords of the option table, a passphrase from the keyword or a file, wrong and
missing keys as typed errors, and no secret in repr, config() or messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

import s3keep

from s3keep_test_helpers import read_tree

PASSWORD = "python passphrase for s3keep"


def test_a_passphrase_store_round_trips_and_hides_the_secret(
    make_store: Callable[..., s3keep.BackupStore], s3: Any, bucket_name: str, tree: Path, tmp_path: Path
) -> None:
    store = make_store(prefix="enc", password=PASSWORD)
    store.save("0/1/0", {"files": tree}, metadata={"host": "a-telling-host-name"})
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket_name, Prefix="enc/")["Contents"]]
    assert any(k.startswith("enc/keys/") for k in keys)
    for key in keys:
        body = s3.get_object(Bucket=bucket_name, Key=key)["Body"].read()
        assert b"a-telling-host-name" not in body and b"top.txt" not in body, key

    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    reader = make_store(prefix="enc", password_file=str(password_file))
    reader.restore("0/1/0", tmp_path / "out")
    assert read_tree(tmp_path / "out") == read_tree(tree)

    shown = repr(store) + str(store.config())
    assert PASSWORD not in shown
    assert store.config()["password"] == "***"


def test_wrong_and_missing_keys_are_typed_errors(
    make_store: Callable[..., s3keep.BackupStore], tree: Path, tmp_path: Path
) -> None:
    make_store(prefix="enc", password=PASSWORD).save("0/1/0", {"files": tree})
    with pytest.raises(s3keep.InvalidInput) as wrong:
        make_store(prefix="enc", password="not it").restore("0/1/0", tmp_path / "out")
    assert wrong.value.code == "KeyWrong"
    assert "not it" not in str(wrong.value)
    with pytest.raises(s3keep.InvalidInput) as missing:
        make_store(prefix="enc").save("0/2/0", {"files": tree})
    assert missing.value.code == "KeyMissing"
    with pytest.raises(s3keep.InvalidInput, match="format 2"):
        make_store(prefix="other", format=1, password=PASSWORD)
