"""The shared conformance suite (conformance/README.md) through the Python binding: one
pytest test per case of conformance/cases/, named after the case, on a fresh bucket of the
harness MinIO. The interpretation of the case format is in conformance_runner.py.

    python3 scripts/minio_harness.py run -- .venv/bin/python -m pytest bindings-python/tests/test_conformance.py

`S3KEEP_CONFORMANCE_FILTER`, `S3KEEP_CONFORMANCE_CASES` and `S3KEEP_CONFORMANCE_CAPABILITIES`
work as the README says (or `-k NAME`). A case needing a capability this runner lacks is
skipped with the reason; pytest's summary line counts passed, failed and skipped, and the
terminal summary repeats the README's one-line-per-case report (conftest.py).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

import conformance_runner as runner

runner.self_check()  # the README's generator test vectors, before any case
CASES = runner.load_cases()

#: The README's report lines, printed by conftest.py's terminal summary.
REPORT: list[tuple[str, str]] = []


@pytest.mark.parametrize("loaded", CASES, ids=[c.name for c in CASES])
def test_case(loaded: runner.Loaded, minio: Any) -> None:
    harness = runner.Harness(minio.endpoint, minio.access_key, minio.secret_key, minio.region)
    started = time.monotonic()
    verdict, why = runner.run_case(loaded, harness, runner.capabilities())
    if verdict == "passed":
        REPORT.append(("passed", f"{loaded.label} ... ok ({time.monotonic() - started:.2f} s)"))
    elif verdict == "skipped":
        REPORT.append(("skipped", f"{loaded.label} ... skipped: {why}"))
        pytest.skip(why)
    else:
        REPORT.append(("failed", f"{loaded.label} ... FAILED: {why}"))
        pytest.fail(why, pytrace=False)
