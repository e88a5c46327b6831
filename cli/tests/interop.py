"""Cross-binding interop through the `s3keep` command (conformance/README.md, "Interop").

Run by scripts/interop.sh under the harness MinIO (`S3KEEP_TEST_*`) with
`S3KEEP_INTEROP_BUCKET` and `S3KEEP_INTEROP_PHASE` set, and `S3KEEP_CLI` naming the binary
(default `target/debug/s3keep`). Needs only the standard library: the command is the face
under test.

- write: saves backup `7/1/0` (the CLI's binding index) with `--meta binding=cli` from two
  directories holding the protocol's five files, into the plain store (prefix `interop`) and
  its three encrypted files into the encrypted store (prefix `interop-encrypted`,
  `--identity-file` with the test age identity 1);
- read: for every backup of a binding index (and the Zeebe fixture, partition 90) in each
  store, `status --json`, `verify --deep` and `restore` into a directory compared byte for
  byte; in the encrypted store also `restore` with the test identity 2 (exit 2, code
  `KeyWrong`) and with no key (exit 2, code `KeyMissing`). One line per writer, the status
  documents of the plain backups (compared with `s3keep status --json` by interop.sh: equal
  by construction), then `N passed, N failed, 0 skipped`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

# The Python runners' data (standard library only): contents, fixtures, identities.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings-python" / "tests"))
from generated import BINDINGS, IDENTITY, OTHER_IDENTITY, ZEEBE_PARTITION, Files  # noqa: E402
from generated import encrypted_files, writer_files, zeebe_files  # noqa: E402

ME = "cli"


class Failed(Exception):
    pass


class Cli:
    """`s3keep` on one store of the shared bucket."""

    def __init__(self, prefix: str, identity: Optional[str], keys_dir: Path) -> None:
        e = os.environ
        self.binary = e.get("S3KEEP_CLI", "target/debug/s3keep")
        self.env = {k: v for k, v in e.items() if not k.startswith(("S3KEEP_", "AWS_"))}
        self.env.update(AWS_ACCESS_KEY_ID=e["S3KEEP_TEST_ACCESS_KEY"], AWS_SECRET_ACCESS_KEY=e["S3KEEP_TEST_SECRET_KEY"],
                        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/s3keep-interop-credentials")
        self.store = ["--endpoint", e["S3KEEP_TEST_ENDPOINT"], "--region", e.get("S3KEEP_TEST_REGION", "us-east-1"),
                      "--bucket", e["S3KEEP_INTEROP_BUCKET"], "--prefix", prefix,
                      "--part-size", "5MiB", "--multipart-threshold", "5MiB"]
        if identity is not None:
            key_file = keys_dir / f"identity-{identity[-8:]}.txt"
            key_file.write_text(identity + "\n")
            key_file.chmod(0o600)
            self.store += ["--identity-file", str(key_file)]

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.binary, *self.store, *args], env=self.env, capture_output=True, text=True)

    def ok(self, *args: str) -> str:
        run = self.run(*args)
        if run.returncode != 0:
            raise Failed(f"{args[0]}: exit {run.returncode}: {run.stderr.strip()}")
        return run.stdout


def write_tree(root: Path, files: Files) -> None:
    """The CLI's layout (§8): set `files` in the directory itself, every other set in NAME/."""
    for set_name, entries in files.items():
        for name, data in entries.items():
            path = root / name if set_name == "files" else root / set_name / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def read_tree(root: Path) -> Dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def save(cli: Cli, b: int, files: Files) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {s: Path(tmp) / s for s in files}
        for set_name, entries in files.items():
            dirs[set_name].mkdir()
            write_tree(dirs[set_name], {"files": entries})
        sets = [f"--set={s}={d}" for s, d in dirs.items() if s != "files"]
        cli.ok("save", f"{b}/1/0", str(dirs["files"]), *sets, "--meta", f"binding={ME}")


def read_one(cli: Cli, id: str, writer: str, expected: Files, encrypted: bool) -> dict:
    status = json.loads(cli.ok("--json", "status", id))
    if status["status"] != "COMPLETED":
        raise Failed(f"status {status['status']} (expected COMPLETED)")
    # Sizes, file count and user metadata are sealed in an encrypted store (docs/FORMAT.md,
    # "Encryption"): there the restore checks.
    if writer != "zeebe" and not encrypted:
        count = sum(len(f) for f in expected.values())
        size = sum(len(d) for f in expected.values() for d in f.values())
        if (status.get("fileCount"), status.get("totalSize")) != (count, size):
            raise Failed(f"status: {status.get('fileCount')} files of {status.get('totalSize')} bytes, expected {count} of {size}")
        if status.get("userMetadata", {}).get("binding") != writer:
            raise Failed(f"metadata {status.get('userMetadata')}, expected binding={writer}")
    cli.ok("verify", "--deep", id)
    with tempfile.TemporaryDirectory() as target:
        cli.ok("restore", id, target)
        want = {(n if s == "files" else f"{s}/{n}"): d for s, f in expected.items() for n, d in f.items()}
        got = read_tree(Path(target))
        if got.keys() != want.keys():
            raise Failed(f"restore: missing {sorted(want.keys() - got.keys())}, unexpected {sorted(got.keys() - want.keys())}")
        differ = sorted(k for k in want if got[k] != want[k])
        if differ:
            raise Failed(f"restore: {differ} differ")
    return status


def refused(cli: Cli, id: str, code: str) -> None:
    with tempfile.TemporaryDirectory() as target:
        run = cli.run("--json", "restore", id, target)
        if run.returncode != 2:
            raise Failed(f"restore ({code} expected): exit {run.returncode}: {run.stderr.strip()}")
        error = json.loads(run.stdout)["error"]
        if (error["kind"], error["code"]) != ("InvalidInput", code):
            raise Failed(f"restore: {error['kind']} ({error['code']}), expected InvalidInput ({code})")
        if any(Path(target).iterdir()):
            raise Failed(f"restore refused with {code} wrote into the target")


def read_store(cli: Cli, encrypted: bool, expect: List[str], wrong: Cli, none: Cli) -> Tuple[int, int]:
    label = "interop-encrypted" if encrypted else "interop"
    names = {i: n for n, i in BINDINGS.items()}
    if not encrypted:
        names[ZEEBE_PARTITION] = "zeebe"
    try:
        listed = json.loads(cli.ok("--json", "list"))
    except (Failed, ValueError) as e:
        print(f"{label} read {ME}: FAILED: list: {e}")
        return 0, 1
    passed = failed = 0
    seen = set()
    for info in listed:
        partition = int(info["id"].split("/")[0])
        writer = names.get(partition)
        if writer is None:
            continue
        seen.add(writer)
        expected = zeebe_files() if writer == "zeebe" else (encrypted_files if encrypted else writer_files)(partition)
        try:
            status = read_one(cli, info["id"], writer, expected, encrypted)
            if encrypted:
                refused(wrong, info["id"], "KeyWrong")
                refused(none, info["id"], "KeyMissing")
        except Failed as e:
            failed += 1
            print(f"{label} {writer} -> {ME}: FAILED: {e}")
            continue
        passed += 1
        print(f"{label} {writer} -> {ME}: ok")
        if not encrypted:
            print(f"interop status-json {writer} -> {ME}: {json.dumps(status, ensure_ascii=False)}")
    for writer in expect:
        if writer not in seen and not (encrypted and writer == "zeebe"):
            failed += 1
            print(f"{label} {writer} -> {ME}: FAILED: no backup of {writer} in the bucket")
    return passed, failed


def main() -> int:
    bucket = os.environ.get("S3KEEP_INTEROP_BUCKET", "")
    phase = os.environ.get("S3KEEP_INTEROP_PHASE", "")
    if not bucket or phase not in ("write", "read"):
        print("interop.py needs S3KEEP_INTEROP_BUCKET and S3KEEP_INTEROP_PHASE=write|read", file=sys.stderr)
        return 2
    expect = [w.strip() for w in os.environ.get("S3KEEP_INTEROP_EXPECT", "").split(",") if w.strip()]
    with tempfile.TemporaryDirectory() as keys:
        plain = Cli("interop", None, Path(keys))
        encrypted = Cli("interop-encrypted", IDENTITY, Path(keys))
        if phase == "write":
            b = BINDINGS[ME]
            try:
                save(plain, b, writer_files(b))
                save(encrypted, b, encrypted_files(b))
            except Failed as e:
                print(f"interop write {ME}: FAILED: {e}")
                return 1
            print(f"interop write {ME}: ok ({b}/1/0 plain and encrypted)")
            return 0
        wrong = Cli("interop-encrypted", OTHER_IDENTITY, Path(keys))
        none = Cli("interop-encrypted", None, Path(keys))
        p1, f1 = read_store(plain, False, expect, wrong, none)
        p2, f2 = read_store(encrypted, True, expect, wrong, none)
    print(f"{p1 + p2} passed, {f1 + f2} failed, 0 skipped")
    return 1 if f1 + f2 else 0


if __name__ == "__main__":
    sys.exit(main())
