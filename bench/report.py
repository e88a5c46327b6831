"""The Markdown tables of bench/peers.py: medians per (group, server, operation, variant),
ratios to s3keep of the same family, client CPU, peak RSS, server CPU; stored bytes."""

from __future__ import annotations

import statistics
from typing import Any

MiB = 1 << 20


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _f(x: float, digits: int = 2) -> str:
    return "" if x != x else f"{x:,.{digits}f}"


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per (group, target, op, variant) in the order first seen."""
    order: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        order.setdefault((row["group"], row["target"], row["op"], row["variant"]), []).append(row)
    out = []
    for (group, target, op, variant), runs in order.items():
        ok = [r for r in runs if r["ok"]]
        walls = [r["wall"] for r in ok]
        first = runs[0]
        out.append({
            "group": group, "target": target, "op": op, "op_label": first["op_label"], "variant": variant,
            "label": first["label"], "lib": first["lib"], "family": first["family"], "fmt": first["fmt"],
            "runs": len(runs), "ok": len(ok),
            "median": _median(walls), "min": min(walls) if walls else float("nan"),
            "max": max(walls) if walls else float("nan"),
            "cpu": _median([r["cpu"] for r in ok]),
            "peak_mib": _median([r["peak_kib"] / 1024 for r in ok]),
            "over_base_mib": _median([(r["peak_kib"] - r["base_kib"]) / 1024 for r in ok if r.get("base_kib")]),
            "js_peak_mib": _median([r["js_peak_kib"] / 1024 for r in ok if "js_peak_kib" in r]),
            "server_cpu": _median([r["server_cpu"] for r in ok if r["server_cpu"] == r["server_cpu"]]),
            "errors": sorted({r["error"] for r in runs if r.get("error")}),
            "checks": sorted({r["check"] for r in runs if r.get("check")}),
        })
    for line in out:
        refs = [x for x in out if x["lib"] == "s3keep" and x["family"] == line["family"]
                and (x["group"], x["target"], x["op"]) == (line["group"], line["target"], line["op"])]
        line["ratios"] = {f"f{x['fmt'] or 1}": (line["median"] / x["median"] if x["median"] == x["median"] else
                                                float("nan")) for x in refs}
    return out


def table(lines: list[dict[str, Any]], group: str, target: str) -> list[str]:
    mine = [x for x in lines if x["group"] == group and x["target"] == target]
    if not mine:
        return []
    fmts = sorted({k for x in mine for k in x["ratios"]})
    js = any(x["js_peak_mib"] == x["js_peak_mib"] for x in mine)
    worker = group in ("python", "js")
    head = ["operation", "variant", "median s", "min–max s"] + [f"÷ s3keep {f}" for f in fmts]
    head += ["client CPU s", "peak RSS MiB"] + (["over baseline MiB"] if worker else [])
    head += (["JS heap+buffers+wasm MiB"] if js else []) + [f"{target} CPU s", "runs ok"]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|"]
    for x in mine:
        ratios = []
        for f in fmts:
            v = x["ratios"].get(f, float("nan"))
            ratios.append("—" if x["lib"] == "s3keep" and f"f{x['fmt'] or 1}" == f else
                          ("" if v != v else f"{v:.2f}×"))
        cells = [x["op_label"], x["label"], _f(x["median"]), f"{_f(x['min'])}–{_f(x['max'])}" if x["ok"] else ""]
        cells += ratios + [_f(x["cpu"]), _f(x["peak_mib"], 0)]
        cells += [_f(x["over_base_mib"], 0)] if worker else []
        cells += [_f(x["js_peak_mib"], 0)] if js else []
        note = f"{x['ok']}/{x['runs']}"
        if x["errors"]:
            note += " (failed: " + "; ".join(e.replace("|", "/") for e in x["errors"])[:200] + ")"
        if x["checks"]:
            note += " (check: " + "; ".join(x["checks"])[:200] + ")"
        cells += [_f(x["server_cpu"]), note]
        out.append("| " + " | ".join(cells) + " |")
    return out


def stored_table(stored: dict[str, dict[str, list[int]]], labels: dict[str, str]) -> list[str]:
    if not stored:
        return []
    out = ["| variant | stored after the first save | after three saves (first, unchanged, 1% changed) |",
           "|---|---:|---:|"]
    for key, doc in stored.items():
        cells = []
        for which in ("first", "all"):
            if which in doc:
                size, objects = doc[which]
                cells.append(f"{size / MiB:,.1f} MiB in {objects:,} objects")
            else:
                cells.append("")
        out.append(f"| {labels.get(key, key)} | {cells[0]} | {cells[1]} |")
    return out


GROUP_TITLES = {
    ("cli", "minio"): "CLI, on MinIO",
    ("python", "minio"): "Python, on MinIO",
    ("js", "minio"): "JavaScript, on MinIO",
    ("cli", "sink"): "CLI, on the sink (bench/sink.py: bodies discarded)",
    ("python", "sink"): "Python, on the sink (bench/sink.py: bodies discarded)",
}


def markdown(meta: dict[str, Any], rows: list[dict[str, Any]], stored: dict[str, dict[str, list[int]]]) -> str:
    lines = summarise(rows)
    m = meta["machine"]
    out = [f"Run of {meta['started']} UTC ({meta['mode']}); {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']} GiB; "
           f"load average {' '.join(map(str, meta['load_start']))} at the start and "
           f"{' '.join(map(str, meta.get('load_end', [])))} at the end; N = {meta['runs']} per variant "
           "(medians), variants alternating, the order rotating each round.", ""]
    out += [f"- {k}: {v}" for k, v in meta["settings"].items()]
    out += ["- versions: " + "; ".join(f"{k} {v}" for k, v in meta["versions"].items())]
    out += [f"- note: {n}" for n in meta["notes"]]
    for (group, target), title in GROUP_TITLES.items():
        t = table(lines, group, target)
        if t:
            out += ["", f"### {title}", ""] + t
            if group == "cli" and target == "minio":
                labels = {x["variant"]: x["label"] for x in lines if x["group"] == "cli"}
                s = stored_table(stored, labels)
                if s:
                    out += ["", "Stored in MinIO (tree):", ""] + s
    out += ["", "`÷ s3keep fN` = this row's median time ÷ the median of s3keep (format N) in the same family "
            "(Python: sync or asyncio; JS: the same runtime): above 1, s3keep is faster. Client CPU is user+sys "
            "of the client (CLI: the process tree, from wait4; Python/JS: the worker during the operation). "
            "Peak RSS: CLI ru_maxrss; Python/JS VmHWM during the operation (reset just before it)."]
    return "\n".join(out)
