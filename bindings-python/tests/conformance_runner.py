"""The Python runner of the shared conformance suite (conformance/README.md, §9).

`test_conformance.py` parametrises pytest over the cases this module loads; `interop.py`
reuses its generator and tree comparison. The parts, in README order:

- the byte generator and the file entries of a case (README, "File contents");
- loading and strict validation of the case files (README, "Runner contract", "A case");
- `CaseRun`: one fresh bucket and store per case, and one ``op_<name>`` method per step kind
  (README, "Steps"), judged against ``expectError`` / ``expectErrorCode``; a step's ``expect``
  is matched against the result's ``to_dict()``, the core's JSON document, as it is.

Capabilities: ``filesystem`` (restores into temporary directories), ``rawS3`` (boto3 on the
case bucket with valid credentials, never through the binding) and ``s3Bucket`` (a prefix of the
case bucket given to the binding as an ``s3://`` source or restore target).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import s3keep

from generated import Files, generate  # the contents and file trees cases describe

REPO = Path(__file__).resolve().parents[2]
CASES_DIR = REPO / "conformance" / "cases"

#: What this runner can do (README, "Capabilities"): the native core writes stores with Object Lock.
CAPABILITIES = ("filesystem", "rawS3", "s3Bucket", "lockedStores")
#: What a store may lack, and what each harness provider has (README, "Providers").
PROVIDERS_DOC = json.loads((REPO / "conformance" / "providers.json").read_text())
STORE_CAPABILITIES = tuple(PROVIDERS_DOC["capabilities"])
KNOWN_CAPABILITIES = ("rawS3", "filesystem", "s3Bucket", "lockedStores") + STORE_CAPABILITIES

#: The ops that need a capability (README, "Capabilities").
OP_CAPABILITY = {
    "restoreDir": "filesystem",
    "saveFromBucket": "s3Bucket",
    "restoreToBucket": "s3Bucket",
    **{op: "rawS3" for op in ("putObject", "deleteObject", "headObject", "getObject", "listKeys",
                               "forgeBackup", "createMultipartUpload")},
}

DEFAULT_PREFIX = "backups"
UNREACHABLE_ENDPOINT = "http://127.0.0.1:1"
WRONG_SECRET = "wrong-secret-key-for-s3keep-conformance"
UNKNOWN_ACCESS_KEY = "s3keep-unknown-access-key"


class CaseError(Exception):
    """A case (file) breaks a rule of the format: the case fails as invalid."""


class StepFailed(Exception):
    """A step's outcome is not what the case expects."""


# ------------------------------------------------------------------------------------------
# File contents (README, "File contents")
# ------------------------------------------------------------------------------------------

def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def self_check() -> None:
    """The README's test vectors; raises if the generator does not match them."""
    import base64

    third = generate(70000, 3)
    checks = [
        (list(generate(8, 0)), [0, 31, 62, 93, 124, 155, 186, 217]),
        (list(generate(4, 1)), [101, 132, 163, 194]),
        (list(third[256:258]), [54, 85]),
        (list(third[65536:65538]), [60, 91]),
        (base64.b64encode(_crc32c(generate(100, 3)).to_bytes(4, "big")).decode(), "DVECog=="),
    ]
    for i, (got, want) in enumerate(checks):
        if got != want:
            raise AssertionError(f"generator vector {i}: got {got}, want {want}")


def content(doc: Dict[str, Any]) -> bytes:
    """`{size, seed}` or `{text}`."""
    if "text" in doc:
        return str(doc["text"]).encode()
    return generate(doc["size"], doc.get("seed", 0))




def expand_sets(sets: Dict[str, List[Dict[str, Any]]]) -> Files:
    """The `sets` of a case with every file entry expanded (README, "file entry")."""
    out: Files = {}
    for set_name, entries in sets.items():
        files: Dict[str, bytes] = {}
        for entry in entries:
            if "namePrefix" in entry:
                prefix, width, seed = entry["namePrefix"], entry.get("width", 0), entry.get("seed", 0)
                for i in range(entry["count"]):
                    files[prefix + str(i).zfill(width)] = generate(entry["size"], seed + i)
            else:
                files[entry["name"]] = content(entry)
        out[set_name] = files
    return out


def read_tree(root: Path) -> Dict[str, bytes]:
    """Every regular file below `root`: '/'-separated relative path -> bytes."""
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def compare_tree(root: Path, expected: Dict[str, bytes]) -> None:
    """Exactly the `expected` files below `root`, byte for byte; raises StepFailed."""
    actual = read_tree(root)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    if missing or extra:
        raise StepFailed(f"restored tree: missing {missing}, unexpected {extra}")
    for path, data in expected.items():
        if actual[path] != data:
            raise StepFailed(f"restored {path} differs ({len(actual[path])} bytes, expected {len(data)})")


# ------------------------------------------------------------------------------------------
# Time values and durations (README, "Time values and durations")
# ------------------------------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> dt.timedelta:
    m = re.fullmatch(r"(\d+)([smhd])", text)
    if not m:
        raise CaseError(f"duration {text!r} is not <integer><s|m|h|d>")
    return dt.timedelta(seconds=int(m[1]) * _UNITS[m[2]])


def rfc3339(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def resolve_time(text: str) -> str:
    """`$now`, `$now-<duration>`, `$now+<duration>` resolved; anything else as is."""
    if not text.startswith("$now"):
        return text
    now, rest = dt.datetime.now(dt.timezone.utc), text[len("$now"):]
    if rest == "":
        return rfc3339(now)
    if rest[0] == "-":
        return rfc3339(now - duration(rest[1:]))
    if rest[0] == "+":
        return rfc3339(now + duration(rest[1:]))
    raise CaseError(f"time value {text!r}")


def resolve_now(value: Any) -> Any:
    """Every string value of a JSON document that starts with `$now`, resolved."""
    if isinstance(value, str) and value.startswith("$now"):
        return resolve_time(value)
    if isinstance(value, list):
        return [resolve_now(v) for v in value]
    if isinstance(value, dict):
        return {k: resolve_now(v) for k, v in value.items()}
    return value


# ------------------------------------------------------------------------------------------
# Loading and validating cases (README, "Runner contract" 1, "A case", "Steps")
# ------------------------------------------------------------------------------------------

Check = Callable[[Any, str], None]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _scalar(kind: str) -> Check:
    tests = {"str": lambda v: isinstance(v, str), "bool": lambda v: isinstance(v, bool),
             "int": lambda v: _is_int(v) and v >= 0, "any": lambda v: True}

    def check(v: Any, at: str) -> None:
        if not tests[kind](v):
            raise CaseError(f"{at} must be {'a non-negative int' if kind == 'int' else kind}, not {v!r}")

    return check


STR, INT, BOOL, ANY = _scalar("str"), _scalar("int"), _scalar("bool"), _scalar("any")


def LIST(item: Check) -> Check:
    def check(v: Any, at: str) -> None:
        if not isinstance(v, list):
            raise CaseError(f"{at} must be a list")
        for i, x in enumerate(v):
            item(x, f"{at}[{i}]")

    return check


def MAP(value: Check) -> Check:
    def check(v: Any, at: str) -> None:
        if not isinstance(v, dict):
            raise CaseError(f"{at} must be an object")
        for k, x in v.items():
            value(x, f"{at}.{k}")

    return check


def OBJ(required: Tuple[str, ...] = (), **fields: Check) -> Check:
    """An object with only these fields (camelCase as in the file), `required` among them."""

    def check(v: Any, at: str) -> None:
        if not isinstance(v, dict):
            raise CaseError(f"{at} must be an object")
        unknown = sorted(set(v) - set(fields))
        if unknown:
            raise CaseError(f"{at}: unknown field(s) {unknown}")
        for name in required:
            if name not in v:
                raise CaseError(f"{at}: missing field {name!r}")
        for name, x in v.items():
            fields[name](x, f"{at}.{name}")

    return check


def _content_doc(v: Any, at: str) -> None:
    OBJ(size=INT, seed=INT, text=STR)(v, at)
    if not (("size" in v and "text" not in v) or (set(v) == {"text"})):
        raise CaseError(f"{at} must be {{size, seed?}} or {{text}}")


def _file_entry(v: Any, at: str) -> None:
    OBJ(name=STR, namePrefix=STR, count=INT, width=INT, size=INT, seed=INT, text=STR)(v, at)
    if "namePrefix" in v:
        if "name" in v or "text" in v or "count" not in v or "size" not in v:
            raise CaseError(f"{at} must be {{namePrefix, count, width?, size, seed?}}")
    elif "name" in v and "count" not in v and "width" not in v:
        _content_doc({k: x for k, x in v.items() if k != "name"}, at)
    else:
        raise CaseError(f"{at} must be {{name, ...content}} or {{namePrefix, count, width?, size, seed?}}")


SETS = MAP(LIST(_file_entry))
POLICY = OBJ(keepLast=INT, keepHourly=INT, keepDaily=INT, keepWeekly=INT, keepMonthly=INT, keepYearly=INT,
             keepWithin=STR, pruneFailed=BOOL, pruneStale=BOOL, staleAfter=STR)

#: The fields of every op (besides `op`, `expectError`, `expectErrorCode`, `comment`).
OP_FIELDS: Dict[str, Tuple[Tuple[str, ...], Dict[str, Check]]] = {
    "open": ((), {}),
    "reopen": ((), dict(keys=OBJ(password=STR, identity=STR, recipients=STR, macKey=STR))),
    "config": ((), dict(url=STR, options=MAP(STR), env=MAP(STR), expect=MAP(ANY))),
    "save": (("id", "sets"), dict(id=STR, sets=SETS, metadata=MAP(STR), expect=ANY,
                                  descriptor=OBJ(checkpointPosition=INT, numberOfPartitions=INT, snapshotId=STR))),
    "status": (("id",), dict(id=STR, expect=ANY)),
    "list": ((), dict(filter=OBJ(partition=INT, checkpoint=INT, node=INT), expect=ANY)),
    "restore": (("id",), dict(id=STR, sets=LIST(STR), expectFiles=SETS)),
    "restoreDir": (("id",), dict(id=STR, set=STR, dir=STR, expectTree=MAP(_content_doc), expect=ANY)),
    "saveFromBucket": (("id", "set", "prefix"), dict(id=STR, set=STR, prefix=STR, expect=ANY)),
    "restoreToBucket": (("id", "prefix"), dict(id=STR, set=STR, prefix=STR, expectObjects=MAP(_content_doc),
                                               expectSameAs=STR, expect=ANY)),
    "verify": (("id",), dict(id=STR, deep=BOOL, expect=ANY)),
    "delete": (("id",), dict(id=STR, force=BOOL)),
    "markFailed": (("id", "reason"), dict(id=STR, reason=STR, expect=ANY)),
    "prune": ((), dict(policy=POLICY, dryRun=BOOL, expect=ANY)),
    "check": ((), dict(expect=ANY)),
    "cleanupUploads": (("olderThan",), dict(olderThan=STR, expect=ANY)),
    "putObject": (("key",), dict(key=STR, absolute=BOOL, json=ANY, text=STR, generated=_content_doc,
                                 repeat=OBJ(("count",), count=INT, start=INT))),
    "deleteObject": (("key",), dict(key=STR, absolute=BOOL)),
    "headObject": (("key", "expect"), dict(key=STR, absolute=BOOL, expect=OBJ(exists=BOOL, size=INT, parts=INT))),
    "getObject": (("key",), dict(key=STR, absolute=BOOL, expectJson=ANY, expectText=STR, expectGenerated=_content_doc)),
    "listKeys": ((), dict(prefix=STR, absolute=BOOL, expectKeys=LIST(STR), expectCount=INT)),
    "forgeBackup": (("id", "status", "createdAt"), dict(id=STR, status=STR, createdAt=STR, failureReason=STR)),
    "createMultipartUpload": (("key",), dict(key=STR, absolute=BOOL)),
}

CONFIG = OBJ(prefix=STR, partSize=INT, multipartThreshold=INT, concurrency=INT, format=INT, credentials=STR,
             bucket=STR, endpoint=STR, keys=OBJ(password=STR, identity=STR, recipients=STR, macKey=STR),
             objectLock=STR, lockPolicy=STR)
CASE = OBJ(("name", "family", "description", "steps"), name=STR, family=STR, description=STR,
           requires=LIST(STR), config=CONFIG, steps=LIST(MAP(ANY)))


def validate_step(step: Dict[str, Any], at: str) -> None:
    op = step.get("op")
    if op not in OP_FIELDS:
        raise CaseError(f"{at}: unknown op {op!r}")
    required, fields = OP_FIELDS[op]
    OBJ(("op",) + required, op=STR, expectError=STR, expectErrorCode=STR, expectMessage=STR, comment=STR,
        **fields)(step, at)
    if ("expectErrorCode" in step or "expectMessage" in step) and "expectError" not in step:
        raise CaseError(f"{at}: expectErrorCode and expectMessage need expectError")
    if "expectError" in step and "expect" in step:
        raise CaseError(f"{at}: a step has expect or expectError, not both")
    if op == "putObject" and sum(k in step for k in ("json", "text", "generated")) != 1:
        raise CaseError(f"{at}: putObject needs exactly one of json, text, generated")


def validate_case(case: Any) -> None:
    CASE(case, "case")
    for cap in case.get("requires", []):
        if cap not in KNOWN_CAPABILITIES:
            raise CaseError(f"unknown capability {cap!r}")
    if not case["steps"]:
        raise CaseError("a case needs steps")
    config, requires = case.get("config", {}), case.get("requires", [])
    if config.get("bucket") == "objectLock" and "objectLock" not in requires:
        raise CaseError('config.bucket "objectLock" needs \'objectLock\' in requires')
    if ("objectLock" in config or "lockPolicy" in config) and "lockedStores" not in requires:
        raise CaseError("config.objectLock or config.lockPolicy needs 'lockedStores' in requires")
    for i, step in enumerate(case["steps"]):
        validate_step(step, f"step {i + 1}")
        needs = OP_CAPABILITY.get(step["op"])
        if needs and needs not in case.get("requires", []):
            raise CaseError(f"step {i + 1} ({step['op']}) needs {needs!r} in requires")
        if step["op"] == "open" and i != 0:
            raise CaseError("open can only be the first step")


@dataclass
class Loaded:
    """A case to run, or a case file that failed to load (`error` set, `name` the file)."""

    name: str
    family: str = ""
    case: Optional[Dict[str, Any]] = None
    error: Optional[str] = None

    @property
    def label(self) -> str:
        return f"{self.name} [{self.family}]" if self.case is not None else self.name


def cases_dir() -> Path:
    return Path(os.environ.get("S3KEEP_CONFORMANCE_CASES") or CASES_DIR)


def load_cases(directory: Optional[Path] = None, name_filter: Optional[str] = None) -> List[Loaded]:
    """Every case of `directory` (`*.json`, in byte order of the file names)."""
    directory = directory or cases_dir()
    name_filter = name_filter if name_filter is not None else os.environ.get("S3KEEP_CONFORMANCE_FILTER", "")
    out = []
    for file in sorted(directory.glob("*.json"), key=lambda p: p.name.encode()):
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
            cases = doc if isinstance(doc, list) else [doc]
            loaded = []
            for case in cases:
                try:
                    validate_case(case)
                except CaseError as e:
                    name = case.get("name", "?") if isinstance(case, dict) else "?"
                    raise CaseError(f"case {name}: {e}") from None
                loaded.append(Loaded(case["name"], case["family"], case))
        except (ValueError, CaseError) as e:  # json.JSONDecodeError is a ValueError
            out.append(Loaded(file.name, error=f"invalid case file: {e}"))
            continue
        out.extend(c for c in loaded if name_filter in c.name)
    return out


def capabilities() -> Tuple[str, ...]:
    """Ours, or those of `S3KEEP_CONFORMANCE_CAPABILITIES` (comma-separated) among ours."""
    listed = os.environ.get("S3KEEP_CONFORMANCE_CAPABILITIES")
    if listed is None:
        return CAPABILITIES
    return tuple(c for c in (x.strip() for x in listed.split(",")) if c in CAPABILITIES)


def missing_capability(case: Dict[str, Any], have: Tuple[str, ...]) -> Optional[str]:
    return next((c for c in case.get("requires", []) if c not in have), None)


def provider() -> Tuple[str, Tuple[str, ...]]:
    """The harness's provider and its capabilities (S3KEEP_TEST_PROVIDER, S3KEEP_TEST_CAPABILITIES;
    unset: MinIO, as providers.json declares it)."""
    name = os.environ.get("S3KEEP_TEST_PROVIDER") or "minio"
    listed = os.environ.get("S3KEEP_TEST_CAPABILITIES")
    caps = listed.split(",") if listed is not None else PROVIDERS_DOC["providers"].get(name, [])
    return name, tuple(c.strip() for c in caps)


def skip_reason(case: Dict[str, Any], have: Tuple[str, ...]) -> Optional[str]:
    """Why `case` is skipped: a capability neither this runner (`have`) nor the provider has."""
    name, store = provider()
    missing = missing_capability(case, have + store)
    if missing is None:
        return None
    lacks = f"the provider {name}" if missing in STORE_CAPABILITIES else "this runner"
    return f"requires {missing}, which {lacks} lacks"


# ------------------------------------------------------------------------------------------
# Running a case (README, "Steps")
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Harness:
    """The MinIO the cases run against (valid credentials)."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str

    @classmethod
    def from_env(cls) -> "Harness":
        e = os.environ
        return cls(e["S3KEEP_TEST_ENDPOINT"], e["S3KEEP_TEST_ACCESS_KEY"], e["S3KEEP_TEST_SECRET_KEY"],
                   e.get("S3KEEP_TEST_REGION", "us-east-1"))

    def s3(self) -> Any:
        """A boto3 client with valid credentials: the runner's raw S3 access."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, region_name=self.region,
            config=Config(s3={"addressing_style": "path"}, max_pool_connections=16,
                          retries={"max_attempts": 3, "mode": "standard"}),
        )

    def create_bucket(self, s3: Any, bucket: str, object_lock: bool = False) -> None:
        lock = {"ObjectLockEnabledForBucket": True} if object_lock else {}
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=bucket, **lock)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region}, **lock)


def normalize_prefix(prefix: str) -> str:
    """README, "config": strip every leading and trailing '/', then one '/' if anything is left."""
    stripped = prefix.strip("/")
    return stripped + "/" if stripped else ""


def error_kind(e: s3keep.S3KeepError) -> str:
    """The core's error kind of a binding exception: its class name, `S3Error` read as `S3`."""
    name = type(e).__name__
    return "S3" if name == "S3Error" else name


def expect_eq(what: str, expected: Any, actual: Any) -> None:
    """Compares when an expectation was given (`expected` not None)."""
    if expected is not None and expected != actual:
        raise StepFailed(f"{what}: expected {expected!r}, got {actual!r}")


def json_matches(expected: Any, actual: Any, at: str = "$") -> None:
    """README, "Subset match"; raises StepFailed."""
    if expected == "$any":
        return
    if expected == "$notNull":
        if actual is None:
            raise StepFailed(f"{at}: expected a value, got null")
        return
    if isinstance(expected, dict) and list(expected) == ["$contains"]:
        if not (isinstance(actual, str) and expected["$contains"] in actual):
            raise StepFailed(f"{at}: expected a string containing {json.dumps(expected['$contains'])}, "
                             f"got {json.dumps(actual)}")
        return
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k, v in expected.items():
            if k not in actual:
                raise StepFailed(f"{at}.{k} is missing")
            json_matches(v, actual[k], f"{at}.{k}")
        return
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            raise StepFailed(f"{at}: expected {len(expected)} items, got {len(actual)}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            json_matches(e, a, f"{at}[{i}]")
        return
    numbers = _is_int(expected) or isinstance(expected, float)
    if numbers and (_is_int(actual) or isinstance(actual, float)) and expected == actual:
        return
    if not numbers and type(expected) is type(actual) and expected == actual:
        return
    raise StepFailed(f"{at}: expected {json.dumps(expected)}, got {json.dumps(actual)}")


def expect_doc(expected: Any, document: Any) -> None:
    """A step's `expect` against the result's JSON document (README, "Results"); raises StepFailed."""
    if expected is None:
        return
    try:
        json_matches(expected, document)
    except StepFailed as e:
        text = json.dumps(document, ensure_ascii=False)
        raise StepFailed(f"{e}; document: {text[:1500]}{'...' if len(text) > 1500 else ''}") from None


@dataclass
class CaseRun:
    """One case: its fresh bucket, its store and what its steps left behind."""

    harness: Harness
    config: Dict[str, Any]
    bucket: str = field(default_factory=lambda: f"t-{secrets.token_hex(8)}")
    store: Optional[s3keep.BackupStore] = None
    saved: Dict[str, Files] = field(default_factory=dict)
    dirs: Dict[str, Path] = field(default_factory=dict)
    scratch: tempfile.TemporaryDirectory = field(default_factory=tempfile.TemporaryDirectory)  # type: ignore[type-arg]

    def __post_init__(self) -> None:
        self.s3 = self.harness.s3()
        self.prefix = normalize_prefix(self.config.get("prefix", DEFAULT_PREFIX))
        bucket = self.config.get("bucket", "fresh")
        if bucket in ("fresh", "objectLock"):
            self.harness.create_bucket(self.s3, self.bucket, object_lock=bucket == "objectLock")
        elif bucket != "missing":
            raise CaseError(f"unknown config.bucket {bucket!r}")

    def close(self) -> None:
        self.scratch.cleanup()

    # -- the store ---------------------------------------------------------------------

    def open_store(self) -> s3keep.BackupStore:
        """The store of `config` (README, "config"); raises the binding's error."""
        h, c = self.harness, self.config
        access_key, secret_key = h.access_key, h.secret_key
        credentials = c.get("credentials", "valid")
        if credentials == "wrongSecret":
            secret_key = WRONG_SECRET
        elif credentials == "unknownAccessKey":
            access_key = UNKNOWN_ACCESS_KEY
        elif credentials != "valid":
            raise CaseError(f"unknown config.credentials {credentials!r}")
        endpoint = {"harness": h.endpoint, "unreachable": UNREACHABLE_ENDPOINT}.get(c.get("endpoint", "harness"))
        if endpoint is None:
            raise CaseError(f"unknown config.endpoint {c['endpoint']!r}")
        keys = getattr(self, "keys", None)
        if keys is None:
            keys = c.get("keys", {})
        return s3keep.BackupStore(
            self.bucket, prefix=c.get("prefix", DEFAULT_PREFIX), endpoint=endpoint, region=h.region,
            access_key_id=access_key, secret_access_key=secret_key, part_size=c.get("partSize"),
            multipart_threshold=c.get("multipartThreshold"), concurrency=c.get("concurrency"),
            format=c.get("format"), password=keys.get("password"), identity=keys.get("identity"),
            recipients=keys.get("recipients"), mac_key=keys.get("macKey"),
            object_lock=c.get("objectLock"), lock_policy=c.get("lockPolicy"),
        )

    def run(self, steps: List[Dict[str, Any]]) -> None:
        """Every step in order; raises StepFailed("step n (op): why") at the first failure."""
        for n, step in enumerate(steps, 1):
            try:
                if self.store is None and step["op"] not in ("open", "config"):
                    try:
                        self.store = self.open_store()
                    except s3keep.S3KeepError as e:
                        raise StepFailed(f"cannot open the store: {error_kind(e)}: {e}") from None
                self.step(step)
            except (StepFailed, CaseError) as e:
                prefix = "invalid case: " if isinstance(e, CaseError) else ""
                raise StepFailed(f"step {n} ({step['op']}): {prefix}{e}") from None
            except Exception as e:  # a runner or boto3 error fails the step, with its type
                raise StepFailed(f"step {n} ({step['op']}): {type(e).__name__}: {e}") from e

    def step(self, step: Dict[str, Any]) -> None:
        """Runs one step and judges it against expectError / expectErrorCode."""
        args = {k: v for k, v in step.items()
                if k not in ("op", "expectError", "expectErrorCode", "expectMessage", "comment")}
        kind = step.get("expectError")
        try:
            getattr(self, "op_" + step["op"])(**args)
        except s3keep.S3KeepError as e:
            if kind is None:
                raise StepFailed(f"unexpected error {error_kind(e)}: {e}") from None
            if error_kind(e) != kind:
                raise StepFailed(f"expected error {kind}, got {error_kind(e)}: {e}") from None
            code = step.get("expectErrorCode")
            if code is not None and e.code != code:
                raise StepFailed(f"expected error code {code}, got {e.code!r} ({e})") from None
            message = step.get("expectMessage")
            if message is not None and e.message not in (message, f"{message}; {e.hint}"):
                raise StepFailed(f"expected the message {message!r}, got {e.message!r}") from None
            return
        if kind is not None:
            raise StepFailed(f"expected error {kind}, but the step succeeded")

    @property
    def the_store(self) -> s3keep.BackupStore:
        assert self.store is not None, "opened before the step"
        return self.store

    # -- binding operations ------------------------------------------------------------

    def op_open(self) -> None:
        self.store = self.open_store()

    def op_reopen(self, keys: Optional[Dict[str, str]] = None) -> None:
        """README, `reopen`: the store again, with these encryption keys only."""
        self.keys = keys or {}
        self.store = self.open_store()

    def op_config(self, url: Optional[str] = None, options: Optional[Dict[str, str]] = None,
                  env: Optional[Dict[str, str]] = None, expect: Optional[Dict[str, Any]] = None) -> None:
        """README, `config`: the options as keyword arguments, `env` as the only environment."""
        options = dict(options or {})
        hidden = {k: v for k, v in os.environ.items() if k == "HOME" or k.startswith(("AWS_", "S3KEEP_"))}
        for k in hidden:
            del os.environ[k]
        os.environ.update(env or {})
        try:
            if url is not None:
                store = s3keep.BackupStore.from_url(url, **options)  # type: ignore[arg-type]
            elif "bucket" in options:
                store = s3keep.BackupStore(**options)  # type: ignore[arg-type]
            else:
                store = s3keep.BackupStore.from_env(**options)  # type: ignore[arg-type]
        finally:
            for k in env or {}:
                os.environ.pop(k, None)
            os.environ.update(hidden)
        report: Dict[str, Any] = dict(store.config())
        for key, want in (expect or {}).items():
            if key not in report or report[key] != want:
                raise StepFailed(f"config {key}: expected {want!r}, got {report.get(key, '(missing)')!r}")

    def op_save(self, id: str, sets: Dict[str, Any], metadata: Optional[Dict[str, str]] = None,
                descriptor: Optional[Dict[str, Any]] = None, expect: Any = None) -> None:
        files = expand_sets(sets)
        zeebe = None
        if descriptor is not None:
            names = {"checkpointPosition": "checkpoint_position", "numberOfPartitions": "number_of_partitions",
                     "snapshotId": "snapshot_id"}
            zeebe = {names[k]: v for k, v in descriptor.items()}
        info = self.the_store.save(id, files, metadata=metadata or {}, descriptor=zeebe)  # type: ignore[arg-type]
        if info.status != "COMPLETED":
            raise StepFailed(f"save returned status {info.status}")
        self.saved[id] = files
        expect_doc(expect, info.to_dict())

    def op_status(self, id: str, expect: Any = None) -> None:
        expect_doc(expect, self.the_store.status(id).to_dict())

    def op_list(self, filter: Optional[Dict[str, int]] = None, expect: Any = None) -> None:
        infos = self.the_store.list(**(filter or {}))
        expect_doc(expect, [i.to_dict() for i in infos])

    def op_restore(self, id: str, sets: Optional[List[str]] = None,
                   expectFiles: Optional[Dict[str, Any]] = None) -> None:
        with tempfile.TemporaryDirectory() as target:
            # root_set=None: every set in its own subdirectory, one-to-one onto (set, name).
            self.the_store.restore(id, target, sets=sets, root_set=None)
            if expectFiles is not None:
                expected = expand_sets(expectFiles)
            elif id in self.saved:
                expected = {s: f for s, f in self.saved[id].items() if sets is None or s in sets}
            else:
                raise CaseError(f"restore of {id} without expectFiles, and no save of it")
            compare_tree(Path(target), {f"{s}/{n}": b for s, files in expected.items() for n, b in files.items()})

    def op_restoreDir(self, id: str, set: Optional[str] = None, dir: Optional[str] = None,
                      expectTree: Optional[Dict[str, Any]] = None, expect: Any = None) -> None:
        if dir is None:
            path = Path(tempfile.mkdtemp(dir=self.scratch.name))
        else:
            if dir not in self.dirs:
                self.dirs[dir] = Path(tempfile.mkdtemp(dir=self.scratch.name))
            path = self.dirs[dir]
        if set is None:
            summary = self.the_store.restore(id, path)  # set `files` into it, the others below it
        else:
            summary = self.the_store.restore(id, path, sets=[set], root_set=set)
        expect_doc(expect, summary.to_dict())
        if expectTree is not None:
            compare_tree(path, {p: content(doc) for p, doc in expectTree.items()})

    def op_verify(self, id: str, deep: bool = True, expect: Any = None) -> None:
        expect_doc(expect, self.the_store.verify(id, deep=deep).to_dict())

    def op_delete(self, id: str, force: bool = False) -> None:
        self.the_store.delete(id, force=force)

    def op_markFailed(self, id: str, reason: str, expect: Any = None) -> None:
        expect_doc(expect, self.the_store.mark_failed(id, reason).to_dict())

    def op_prune(self, policy: Optional[Dict[str, Any]] = None, dryRun: bool = False, expect: Any = None) -> None:
        p = policy or {}
        retention = s3keep.RetentionPolicy(
            keep_last=p.get("keepLast"), keep_hourly=p.get("keepHourly"), keep_daily=p.get("keepDaily"),
            keep_weekly=p.get("keepWeekly"), keep_monthly=p.get("keepMonthly"), keep_yearly=p.get("keepYearly"),
            keep_within=duration(p["keepWithin"]) if "keepWithin" in p else None,
            prune_failed=p.get("pruneFailed", False), prune_stale=p.get("pruneStale", False),
            stale_after=duration(p["staleAfter"]) if "staleAfter" in p else None,
        )
        plan = self.the_store.prune(retention, dry_run=dryRun)
        if plan.failed:
            id, e = plan.failed[0]
            raise StepFailed(f"prune could not delete {id}: {e!r}")
        expect_doc(expect, plan.to_dict())

    def op_check(self, expect: Any = None) -> None:
        expect_doc(expect, self.the_store.check().to_dict())

    def op_cleanupUploads(self, olderThan: str, expect: Any = None) -> None:
        expect_doc(expect, self.the_store.cleanup_uploads(duration(olderThan)).to_dict())

    # -- rawS3 operations (boto3, valid credentials, never the binding) ------------------

    def key(self, key: str, absolute: bool = False) -> str:
        """A key of a rawS3 step: relative to the store prefix unless `absolute`."""
        return key if absolute else self.prefix + key

    def op_putObject(self, key: str, absolute: bool = False, json: Any = None, text: Optional[str] = None,
                     generated: Optional[Dict[str, int]] = None, repeat: Optional[Dict[str, int]] = None) -> None:
        if generated is not None:
            body = content(generated)
        elif text is not None:
            body = text.encode()
        else:
            body = _json_bytes(resolve_now(json))
        if repeat is None:
            keys = [self.key(key, absolute)]
        else:
            start = repeat.get("start", 0)
            keys = [self.key(key.replace("{i}", str(i)), absolute) for i in range(start, start + repeat["count"])]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda k: self.s3.put_object(Bucket=self.bucket, Key=k, Body=body), keys))

    def op_deleteObject(self, key: str, absolute: bool = False) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self.key(key, absolute))

    def op_headObject(self, key: str, expect: Dict[str, Any], absolute: bool = False) -> None:
        from botocore.exceptions import ClientError

        full = self.key(key, absolute)
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=full)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            head = None
        expect_eq(f"{key} exists", expect.get("exists"), head is not None)
        if head is None:
            if "size" in expect or "parts" in expect:
                raise StepFailed(f"{key} does not exist")
            return
        expect_eq(f"{key} size", expect.get("size"), head["ContentLength"])
        # A multipart object's ETag ends in "-<number of parts>".
        etag = head.get("ETag", "").strip('"')
        tail = etag.rsplit("-", 1)[1] if "-" in etag else ""
        expect_eq(f"{key} parts (ETag {etag})", expect.get("parts"), int(tail) if tail.isdigit() else 0)

    def op_getObject(self, key: str, absolute: bool = False, expectJson: Any = None,
                     expectText: Optional[str] = None, expectGenerated: Optional[Dict[str, int]] = None) -> None:
        body = self.s3.get_object(Bucket=self.bucket, Key=self.key(key, absolute))["Body"].read()
        if expectJson is not None:
            try:
                actual = json.loads(body)
            except ValueError as e:
                raise StepFailed(f"{key} is not JSON: {e}") from None
            try:
                json_matches(expectJson, actual)
            except StepFailed as e:
                raise StepFailed(f"{key}: {e}; document: {body.decode(errors='replace')}") from None
        if expectText is not None and body != expectText.encode():
            raise StepFailed(f"{key}: expected text {expectText!r}, got {body.decode(errors='replace')!r}")
        if expectGenerated is not None and body != content(expectGenerated):
            raise StepFailed(f"{key}: bytes differ from {expectGenerated} ({len(body)} bytes)")

    def op_listKeys(self, prefix: str = "", absolute: bool = False, expectKeys: Optional[List[str]] = None,
                    expectCount: Optional[int] = None) -> None:
        base = "" if absolute else self.prefix
        keys = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base + prefix):
            keys += [o["Key"][len(base):] for o in page.get("Contents", [])]
        keys.sort()
        if expectKeys is not None and sorted(expectKeys) != keys:
            raise StepFailed(f"keys under {prefix!r}: expected {sorted(expectKeys)}, got {keys}")
        expect_eq(f"number of keys under {prefix!r}", expectCount, len(keys))

    def op_forgeBackup(self, id: str, status: str, createdAt: str, failureReason: Optional[str] = None) -> None:
        """README, "forgeBackup": metadata.json first, then status.json."""
        backup = s3keep.BackupId.parse(id)
        at = resolve_time(createdAt)
        folder = f"{self.prefix}{backup.partition}/{backup.checkpoint}/{backup.node}/"
        metadata = {"formatVersion": 1, "partitionId": backup.partition, "checkpointId": backup.checkpoint,
                    "nodeId": backup.node, "fileSets": {}, "userMetadata": {}, "createdAt": at,
                    "writer": "s3keep-conformance"}
        status_doc = {"statusCode": status, "failureReason": failureReason, "createdAt": at, "updatedAt": at,
                      "writer": "s3keep-conformance"}
        for name, doc in (("metadata.json", metadata), ("status.json", status_doc)):
            self.s3.put_object(Bucket=self.bucket, Key=folder + name, Body=_json_bytes(doc))

    def op_createMultipartUpload(self, key: str, absolute: bool = False) -> None:
        self.s3.create_multipart_upload(Bucket=self.bucket, Key=self.key(key, absolute))

    # -- s3Bucket operations (README, "s3Bucket operations") ---------------------------

    def bucket_url(self, prefix: str) -> str:
        """`s3://CASE-BUCKET/PREFIX?endpoint=HARNESS&region=REGION`: on the store's endpoint,
        so the store's credentials serve it."""
        h = self.harness
        return f"s3://{self.bucket}/{prefix}?endpoint={h.endpoint}&region={h.region}"

    def objects_under(self, prefix: str) -> Dict[str, bytes]:
        """Every object under `prefix/` of the case bucket: name below the prefix -> bytes."""
        base = prefix.strip("/") + "/"
        keys = [o["Key"] for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base)
                for o in page.get("Contents", [])]
        with ThreadPoolExecutor(16) as pool:
            bodies = pool.map(lambda k: self.s3.get_object(Bucket=self.bucket, Key=k)["Body"].read(), keys)
            return {k[len(base):]: body for k, body in zip(keys, bodies)}

    def op_saveFromBucket(self, id: str, set: str, prefix: str, expect: Any = None) -> None:
        info = self.the_store.save(id, {set: self.bucket_url(prefix)})
        if info.status != "COMPLETED":
            raise StepFailed(f"save returned status {info.status}")
        expect_doc(expect, info.to_dict())

    def op_restoreToBucket(self, id: str, prefix: str, set: Optional[str] = None,
                           expectObjects: Optional[Dict[str, Any]] = None, expectSameAs: Optional[str] = None,
                           expect: Any = None) -> None:
        only = {} if set is None else {"sets": [set], "root_set": set}
        report = self.the_store.restore(id, self.bucket_url(prefix), **only)  # type: ignore[arg-type]
        got = self.objects_under(prefix)
        if expectObjects is not None:
            _same_objects(got, {name: content(doc) for name, doc in expectObjects.items()}, "expectObjects")
        if expectSameAs is not None:
            _same_objects(got, self.objects_under(expectSameAs), expectSameAs)
        expect_doc(expect, report.to_dict())


def _same_objects(got: Dict[str, bytes], want: Dict[str, bytes], what: str) -> None:
    if sorted(got) != sorted(want):
        raise StepFailed(f"objects: expected the names of {what} {sorted(want)}, got {sorted(got)}")
    for name, body in want.items():
        if got[name] != body:
            raise StepFailed(f"object {name}: bytes differ from {what} ({len(got[name])} / {len(body)} bytes)")


def _json_bytes(doc: Any) -> bytes:
    """JSON written compactly, UTF-8."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def run_case(loaded: Loaded, harness: Harness, have: Tuple[str, ...]) -> Tuple[str, str]:
    """Runs one loaded case: ("passed" | "failed" | "skipped", why)."""
    if loaded.case is None:
        return "failed", loaded.error or "invalid case file"
    why = skip_reason(loaded.case, have)
    if why:
        return "skipped", why
    try:
        run = CaseRun(harness, loaded.case.get("config", {}))
    except Exception as e:
        return "failed", f"cannot set the case up: {type(e).__name__}: {e}"
    try:
        run.run(loaded.case["steps"])
        return "passed", ""
    except StepFailed as e:
        return "failed", str(e)
    finally:
        run.close()
