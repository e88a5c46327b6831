"""The harness's distributed MinIO (provider `minio-dist`, scripts/harness_cluster.py): four
nodes in network namespaces behind the forwarder. SigV4 still validates through it, a save
and a restore work with one node of four stopped, and every namespace is gone afterwards.

The `s3keep` command of the venv (pip install .) does the save and restore, as a user would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import harness_cluster  # type: ignore[import-not-found]
import minio_harness  # type: ignore[import-not-found]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or not minio_harness.tool_path("minio").exists(),
    reason="needs root and `ip` (network namespaces) and MinIO from scripts/setup.sh",
)

S3KEEP = Path(sys.executable).parent / "s3keep"


@pytest.fixture(scope="module")
def cluster() -> Iterator[harness_cluster.MinioCluster]:
    c = harness_cluster.MinioCluster()
    c.start()
    names = set(c.created)
    try:
        yield c
    finally:
        c.stop()
    # Teardown is part of the contract: no namespace of this run survives.
    assert not names & set(harness_cluster._namespaces()), "namespaces left behind"


def client(c: harness_cluster.MinioCluster, secret: str | None = None):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3", endpoint_url=c.endpoint, aws_access_key_id=c.access_key,
        aws_secret_access_key=secret or c.secret_key, region_name=c.region,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def test_namespaces_are_this_runs_own(cluster: harness_cluster.MinioCluster) -> None:
    assert len(cluster.created) == cluster.nodes + 2  # the nodes, the bridge, the client side
    assert all(n.startswith(f"s3k-{os.getpid()}-") for n in cluster.created)
    assert set(cluster.created) <= set(harness_cluster._namespaces())
    assert cluster.env()["S3KEEP_TEST_PROVIDER"] == "minio-dist"
    assert "listUploads" not in cluster.env()["S3KEEP_TEST_CAPABILITIES"].split(",")


def test_signatures_are_checked_through_the_forwarder(cluster: harness_cluster.MinioCluster) -> None:
    s3 = client(cluster)
    s3.create_bucket(Bucket="sigv4")
    s3.put_object(Bucket="sigv4", Key="k", Body=b"through the forwarder")
    assert s3.get_object(Bucket="sigv4", Key="k")["Body"].read() == b"through the forwarder"
    with pytest.raises(ClientError) as err:
        client(cluster, secret="wrong-secret").list_objects_v2(Bucket="sigv4")
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_stale_namespaces_of_dead_runs_are_swept() -> None:
    pid = 4_000_000  # above Linux's pid_max: never a live process
    name = f"s3k-{pid}-abcd-br"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        assert name in harness_cluster.sweep_stale_namespaces()
        assert name not in harness_cluster._namespaces()
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


@pytest.mark.skipif(not S3KEEP.exists(), reason=f"{S3KEEP} not installed (pip install .)")
def test_save_and_restore_with_one_node_stopped(cluster: harness_cluster.MinioCluster, tmp_path: Path) -> None:
    client(cluster).create_bucket(Bucket="one-down")
    src = tmp_path / "src"
    files = {f"dir{i % 3}/file{i}.bin": os.urandom(1000 + i) for i in range(20)}
    files["big.bin"] = os.urandom(17 * 1024 * 1024)  # multipart: above the default 16 MiB threshold
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=cluster.access_key, AWS_SECRET_ACCESS_KEY=cluster.secret_key,
               AWS_REGION=cluster.region)

    def s3keep(*args: str) -> str:
        url = f"s3://one-down/b?endpoint={cluster.endpoint}"
        done = subprocess.run([str(S3KEEP), "--url", url, *args], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"s3keep {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    cluster.stop_node(2)
    assert not cluster.node_running(2) and cluster.running()
    s3keep("save", "0/1/0", str(src))
    s3keep("restore", "0/1/0", str(tmp_path / "out"))
    restored = {str(p.relative_to(tmp_path / "out")): p.read_bytes()
                for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert restored == files
    cluster.start_node(2)
    assert cluster.node_running(2)
    s3keep("verify", "0/1/0", "--deep")
