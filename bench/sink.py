#!/usr/bin/env python3
"""A minimal S3 endpoint that discards object bodies: the client's own ceiling.

    python3 bench/sink.py [--port 0]   # prints {"endpoint": "http://127.0.0.1:PORT"}, serves until killed

Run by bench/peers.py for the `sink` group, so that a client's save is measured against a
server that costs almost nothing (MinIO spends ~1.7 ms of CPU per object and an MD5 of every
byte on the same 2 cores). Standard library only; no signature is checked.

What it answers (path-style addressing only):
- PutObject (also `If-None-Match: *` -> 412 when the key exists, `If-Match: ETAG` -> 412 when
  the current ETag differs), UploadPart, Create/Complete/AbortMultipartUpload, HeadObject,
  DeleteObject(s), ListObjects V1 and V2 (prefix, delimiter, paging, `encoding-type=url`),
  CreateBucket, HeadBucket, GetBucketLocation, ListMultipartUploads (always empty).
- Bodies are read to the end and dropped, except for the small documents a tool reads back
  during a save: s3keep's `status.json`, `metadata.json`, `s3keep.json`, `manifest.json.zst`,
  and anything below a key component `config`, `keys`, `index`, `locks` or `snapshots`
  (restic's and format 2's repository documents). Those are kept in memory, with `Range`.
- Size, ETag, Last-Modified and `x-amz-meta-*` of every key are kept, so listings and HEADs
  (`mc mirror`, `rclone copy`, `aws s3 sync` deciding what changed) see what was written.
- The ETag of a single PUT is the MD5 the client sent in `Content-MD5` (rclone compares it
  with its own), else the MD5 of the body when it is not aws-chunked, else a counter.

What it cannot serve: a GET of a discarded body (501 NotImplemented) -- so no restore, no
download, and no restic save with a parent snapshot (restic reads its tree blobs back from
`data/` packs).
"""

from __future__ import annotations

import argparse
import base64
import bisect
import email.utils
import hashlib
import itertools
import json
import re
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape

KEEP = re.compile(r"(^|/)(status\.json|metadata\.json|s3keep\.json|manifest\.json\.zst)$"
                  r"|(^|/)(config|keys|index|locks|snapshots)(/|$)")
NS = "http://s3.amazonaws.com/doc/2006-03-01/"
BUF = 1 << 20


@dataclass
class Obj:
    size: int
    etag: str
    mtime: float
    meta: dict[str, str]
    body: Optional[bytes]


@dataclass
class Upload:
    bucket: str
    key: str
    meta: dict[str, str]
    parts: dict[int, tuple[int, str, Optional[bytes]]] = field(default_factory=dict)


class Store:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.buckets: dict[str, dict[str, Obj]] = {}
        self.sorted: dict[str, list[str]] = {}
        self.uploads: dict[str, Upload] = {}
        self.counter = itertools.count(1)
        self.requests: dict[str, int] = {}

    def bucket(self, name: str) -> dict[str, Obj]:
        return self.buckets.setdefault(name, {})

    def keys(self, bucket: str) -> list[str]:
        keys = self.sorted.get(bucket)
        if keys is None:
            keys = self.sorted[bucket] = sorted(self.bucket(bucket))
        return keys

    def put(self, bucket: str, key: str, obj: Obj) -> None:
        objects = self.bucket(bucket)
        if key not in objects:
            self.sorted.pop(bucket, None)
        objects[key] = obj

    def delete(self, bucket: str, key: str) -> None:
        if self.bucket(bucket).pop(key, None) is not None:
            self.sorted.pop(bucket, None)


STORE = Store()


def http_date(t: float) -> str:
    return email.utils.formatdate(t, usegmt=True)


def iso_date(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def xml(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()


def error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/xml"}, xml(
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>")


class Handler(socketserver.StreamRequestHandler):
    rbufsize = BUF

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.scratch = memoryview(bytearray(BUF))

    def handle(self) -> None:
        while True:
            line = self.rfile.readline(65536)
            if not line or not line.strip():
                if not line:
                    return
                continue
            method, target, _version = line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while True:
                h = self.rfile.readline(65536)
                if h in (b"\r\n", b"\n", b""):
                    break
                name, _, value = h.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if headers.get("expect", "").lower() == "100-continue":
                # botocore waits up to a second for this before it sends a body.
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.wfile.flush()
            try:
                status, out_headers, body = self.route(method, target, headers)
            except Exception as e:  # a bug here must not look like a slow client
                status, out_headers, body = error(500, "InternalError", f"sink: {type(e).__name__}: {e}")
            head = [f"HTTP/1.1 {status} X", f"Date: {http_date(time.time())}", "Server: s3keep-bench-sink",
                    f"x-amz-request-id: {next(STORE.counter)}"]
            head += [f"{k}: {v}" for k, v in out_headers.items()]
            if "Content-Length" not in out_headers:
                head.append(f"Content-Length: {len(body)}")
            payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
            self.wfile.write(payload if method == "HEAD" else payload + body)
            self.wfile.flush()
            if headers.get("connection", "").lower() == "close":
                return

    # ------------------------------------------------------------------ bodies

    def read_body(self, headers: dict[str, str], keep: bool, md5: Optional["hashlib._Hash"]) -> tuple[int, Optional[bytes]]:
        """Reads the request body; returns its length and, when `keep`, its bytes."""
        kept: Optional[bytearray] = bytearray() if keep else None
        total = 0
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline(65536).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                total += self._read_exact(size, kept, md5)
                self.rfile.readline(65536)
        else:
            total = self._read_exact(int(headers.get("content-length", "0") or 0), kept, md5)
        body = bytes(kept) if kept is not None else None
        if body is not None and aws_chunked(headers):
            body = decode_aws_chunked(body)
        return total, body

    def _read_exact(self, n: int, kept: Optional[bytearray], md5: Optional["hashlib._Hash"]) -> int:
        left = n
        while left:
            got = self.rfile.readinto(self.scratch[:min(left, BUF)])
            if not got:
                raise ConnectionError("client closed the connection in a body")
            chunk = self.scratch[:got]
            if kept is not None:
                kept += chunk
            if md5 is not None:
                md5.update(chunk)
            left -= got
        return n

    # ------------------------------------------------------------------ routing

    def route(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = unquote(url.path).lstrip("/")
        bucket, _, key = path.partition("/")
        op = f"{method} {'object' if key else 'bucket'} {','.join(sorted(query)) or '-'}"
        with STORE.lock:
            STORE.requests[op] = STORE.requests.get(op, 0) + 1
        if bucket == "__sink" and method == "GET":
            with STORE.lock:
                doc = {"requests": dict(STORE.requests), "objects": sum(len(b) for b in STORE.buckets.values())}
            return 200, {"Content-Type": "application/json"}, json.dumps(doc).encode()
        if not key:
            return self.bucket_op(method, bucket, query, headers)
        if method == "PUT":
            return self.put(bucket, key, query, headers)
        if method == "POST" and "uploads" in query:
            self.read_body(headers, False, None)
            upload_id = f"u{next(STORE.counter)}"
            with STORE.lock:
                STORE.uploads[upload_id] = Upload(bucket, key, meta_of(headers))
            return 200, {"Content-Type": "application/xml"}, xml(
                f'<InitiateMultipartUploadResult xmlns="{NS}"><Bucket>{escape(bucket)}</Bucket>'
                f"<Key>{escape(key)}</Key><UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>")
        if method == "POST" and "uploadId" in query:
            return self.complete(bucket, key, query["uploadId"], headers)
        if method == "DELETE":
            self.read_body(headers, False, None)
            with STORE.lock:
                if "uploadId" in query:
                    STORE.uploads.pop(query["uploadId"], None)
                else:
                    STORE.delete(bucket, key)
            return 204, {}, b""
        if method in ("GET", "HEAD"):
            return self.get(method, bucket, key, headers)
        return error(501, "NotImplemented", f"sink: {method} {target}")

    def bucket_op(self, method: str, bucket: str, query: dict[str, str],
                  headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if method == "POST" and "delete" in query:
            _, body = self.read_body(headers, True, None)
            keys = [unescape_xml(k) for k in re.findall(r"<Key>(.*?)</Key>", (body or b"").decode())]
            with STORE.lock:
                for k in keys:
                    STORE.delete(bucket, k)
            return 200, {"Content-Type": "application/xml"}, xml(
                f'<DeleteResult xmlns="{NS}">'
                + "".join(f"<Deleted><Key>{escape(k)}</Key></Deleted>" for k in keys) + "</DeleteResult>")
        self.read_body(headers, False, None)
        if method in ("PUT", "HEAD", "DELETE"):
            with STORE.lock:
                if method == "DELETE":
                    STORE.buckets.pop(bucket, None)
                    STORE.sorted.pop(bucket, None)
                else:
                    STORE.bucket(bucket)
            return (204 if method == "DELETE" else 200), {}, b""
        if "location" in query:
            return 200, {"Content-Type": "application/xml"}, xml(f'<LocationConstraint xmlns="{NS}"/>')
        if "uploads" in query:
            return 200, {"Content-Type": "application/xml"}, xml(
                f'<ListMultipartUploadsResult xmlns="{NS}"><Bucket>{escape(bucket)}</Bucket>'
                "<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>")
        if method == "GET" and not (set(query) - {"list-type", "prefix", "delimiter", "max-keys", "marker",
                                                 "continuation-token", "start-after", "encoding-type",
                                                 "fetch-owner", "x-id"}):
            return self.list(bucket, query)
        return error(501, "NotImplemented", f"sink: bucket {method} {sorted(query)}")

    def put(self, bucket: str, key: str, query: dict[str, str],
            headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        keep = KEEP.search(key) is not None
        sent_md5 = headers.get("content-md5")
        md5 = None
        if sent_md5 is None and not aws_chunked(headers) and "uploadId" not in query:
            md5 = hashlib.md5()
        size, body = self.read_body(headers, keep, md5)
        size = int(headers.get("x-amz-decoded-content-length", size))
        if sent_md5 is not None:
            etag = base64.b64decode(sent_md5).hex()
        elif md5 is not None:
            etag = md5.hexdigest()
        else:
            etag = f"{next(STORE.counter):032x}"
        echo = {k: v for k, v in headers.items() if k.startswith("x-amz-checksum-")
                and k != "x-amz-checksum-algorithm"}
        out = {"ETag": f'"{etag}"', **echo}
        if "uploadId" in query:
            with STORE.lock:
                upload = STORE.uploads.get(query["uploadId"])
                if upload is None:
                    return error(404, "NoSuchUpload", "no such upload")
                upload.parts[int(query["partNumber"])] = (size, etag, body)
            return 200, out, b""
        with STORE.lock:
            current = STORE.bucket(bucket).get(key)
            if headers.get("if-none-match") == "*" and current is not None:
                return error(412, "PreconditionFailed", "the key exists")
            if_match = headers.get("if-match")
            if if_match is not None and (current is None or f'"{current.etag}"' != if_match.strip()):
                return error(412, "PreconditionFailed", "the ETag differs")
            STORE.put(bucket, key, Obj(size, etag, time.time(), meta_of(headers), body))
        return 200, out, b""

    def complete(self, bucket: str, key: str, upload_id: str,
                 headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.read_body(headers, False, None)
        with STORE.lock:
            upload = STORE.uploads.pop(upload_id, None)
            if upload is None:
                return error(404, "NoSuchUpload", "no such upload")
            parts = [upload.parts[n] for n in sorted(upload.parts)]
            digest = hashlib.md5(b"".join(bytes.fromhex(e) if len(e) == 32 else e.encode() for _, e, _ in parts))
            etag = f"{digest.hexdigest()}-{len(parts)}"
            body = b"".join(b for _, _, b in parts if b is not None) if KEEP.search(key) else None
            STORE.put(bucket, key, Obj(sum(s for s, _, _ in parts), etag, time.time(), upload.meta, body))
        return 200, {"Content-Type": "application/xml"}, xml(
            f'<CompleteMultipartUploadResult xmlns="{NS}"><Bucket>{escape(bucket)}</Bucket>'
            f'<Key>{escape(key)}</Key><ETag>"{etag}"</ETag></CompleteMultipartUploadResult>')

    def get(self, method: str, bucket: str, key: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.read_body(headers, False, None)
        with STORE.lock:
            obj = STORE.bucket(bucket).get(key)
        if obj is None:
            return error(404, "NoSuchKey", "The specified key does not exist.")
        out = {"ETag": f'"{obj.etag}"', "Last-Modified": http_date(obj.mtime), "Accept-Ranges": "bytes",
               "Content-Type": "application/octet-stream", **obj.meta}
        if method == "HEAD":
            return 200, {**out, "Content-Length": str(obj.size)}, b""
        if obj.body is None:
            return error(501, "NotImplemented", "sink: this body was discarded")
        body, status = obj.body, 200
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", headers.get("range", ""))
        if m:
            start = int(m[1]) if m[1] else max(0, len(body) - int(m[2]))
            end = int(m[2]) if m[1] and m[2] else len(body) - 1
            out["Content-Range"] = f"bytes {start}-{min(end, len(body) - 1)}/{len(body)}"
            body, status = body[start:end + 1], 206
        return status, out, body

    def list(self, bucket: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        v2 = query.get("list-type") == "2"
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        max_keys = min(int(query.get("max-keys", "1000") or 1000), 1000)
        after = query.get("continuation-token" if v2 else "marker") or query.get("start-after", "")
        url = query.get("encoding-type") == "url"
        enc = (lambda s: quote(s, safe="/")) if url else (lambda s: s)
        with STORE.lock:
            keys = STORE.keys(bucket)
            objects = STORE.bucket(bucket)
            i = bisect.bisect_left(keys, prefix)
            if after:
                # A token that is a common prefix skips every key below it.
                skip = after + "\U0010ffff" if delimiter and after.endswith(delimiter) else after
                i = max(i, bisect.bisect_right(keys, skip))
            contents: list[str] = []
            prefixes: list[str] = []
            last = ""
            truncated = False
            while i < len(keys) and keys[i].startswith(prefix):
                k = keys[i]
                cut = k.find(delimiter, len(prefix)) if delimiter else -1
                if len(contents) + len(prefixes) == max_keys:
                    truncated = True
                    break
                if cut >= 0:
                    common = k[:cut + len(delimiter)]
                    prefixes.append(common)
                    last = common
                    i = bisect.bisect_left(keys, common + "\U0010ffff")
                    continue
                o = objects[k]
                contents.append(f"<Contents><Key>{escape(enc(k))}</Key><LastModified>{iso_date(o.mtime)}"
                                f'</LastModified><ETag>"{o.etag}"</ETag><Size>{o.size}</Size>'
                                "<StorageClass>STANDARD</StorageClass></Contents>")
                last = k
                i += 1
        doc = [f'<ListBucketResult xmlns="{NS}"><Name>{escape(bucket)}</Name><Prefix>{escape(enc(prefix))}</Prefix>',
               f"<MaxKeys>{max_keys}</MaxKeys><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"]
        if delimiter:
            doc.append(f"<Delimiter>{escape(enc(delimiter))}</Delimiter>")
        if url:
            doc.append("<EncodingType>url</EncodingType>")
        if v2:
            doc.append(f"<KeyCount>{len(contents) + len(prefixes)}</KeyCount>")
            if truncated:
                doc.append(f"<NextContinuationToken>{escape(last)}</NextContinuationToken>")
        elif truncated:
            doc.append(f"<NextMarker>{escape(enc(last))}</NextMarker>")
        doc += contents
        doc += [f"<CommonPrefixes><Prefix>{escape(enc(p))}</Prefix></CommonPrefixes>" for p in prefixes]
        doc.append("</ListBucketResult>")
        return 200, {"Content-Type": "application/xml"}, xml("".join(doc))


def meta_of(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.startswith("x-amz-meta-")}


def unescape_xml(s: str) -> str:
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'") \
        .replace("&amp;", "&")


def aws_chunked(headers: dict[str, str]) -> bool:
    """Whether the body is framed as `aws-chunked` (minio-go's streaming signature over http
    sends no Content-Encoding, only the decoded length and a STREAMING-* payload hash)."""
    return ("aws-chunked" in headers.get("content-encoding", "") or "x-amz-decoded-content-length" in headers
            or headers.get("x-amz-content-sha256", "").startswith("STREAMING-"))


def decode_aws_chunked(body: bytes) -> bytes:
    """The payload of an `aws-chunked` body (`HEX[;chunk-signature=...]\\r\\nDATA\\r\\n`...)."""
    out, i = bytearray(), 0
    while i < len(body):
        eol = body.index(b"\r\n", i)
        size = int(body[i:eol].split(b";")[0], 16)
        if size == 0:
            break
        out += body[eol + 2:eol + 2 + size]
        i = eol + 2 + size + 2
    return bytes(out)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    print(json.dumps({"endpoint": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
