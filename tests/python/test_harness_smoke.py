"""Proves the Python side of the test harness: MinIO runs and answers SigV4-signed requests."""

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


def s3_client(minio, secret_key=None):
    return boto3.client(
        "s3",
        endpoint_url=minio.endpoint,
        aws_access_key_id=minio.access_key,
        aws_secret_access_key=secret_key or minio.secret_key,
        region_name=minio.region,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def test_put_and_get_object(minio, bucket_name):
    s3 = s3_client(minio)
    s3.create_bucket(Bucket=bucket_name)
    s3.put_object(Bucket=bucket_name, Key="dir/hello.bin", Body=b"hello \x00 s3keep")
    got = s3.get_object(Bucket=bucket_name, Key="dir/hello.bin")
    assert got["Body"].read() == b"hello \x00 s3keep"


def test_wrong_secret_is_refused(minio, bucket_name):
    s3_client(minio).create_bucket(Bucket=bucket_name)
    with pytest.raises(ClientError) as err:
        s3_client(minio, secret_key="wrong-secret").list_objects_v2(Bucket=bucket_name)
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_mc_alias_is_configured(minio, bucket_name):
    s3_client(minio).create_bucket(Bucket=bucket_name)
    assert bucket_name in minio.mc("ls", minio.mc_alias).stdout
