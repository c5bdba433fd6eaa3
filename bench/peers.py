"""Ours against the peers, same N trivial durable steps, same machine, same run.

    .venv/bin/python bench/peers.py [--steps 1000] [--peers aws,dbos,dbos-wal] [--repeat 3]

Ours twice: async fns, and sync lambdas as the README writes them (the peers' own steps are
sync lambdas too). --repeat rounds, each running ours, then every peer once, then ours
again: every figure is a median (ours of 2 x --repeat runs, each peer's of --repeat), all
sampled over the same minutes (this machine's speed drifts by 10-15% within minutes, and
one run of a peer moves its ratio by as much).

The peers (the AWS durable execution SDK's local test runner, DBOS on SQLite) are installed
in a venv of their own, bench/.peers-venv (git-ignored, created here with uv or pip when
missing), never as project dependencies; each runs bench/peers_worker.py in a subprocess
that prints JSON. A peer that fails to install or run is a row that says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV = HERE / ".peers-venv"
PACKAGES = ["aws-durable-execution-sdk-python", "aws-durable-execution-sdk-python-testing", "dbos"]

DURABLE = {
    "ours": "one conditional upsert committed per task (SQLite file, WAL, synchronous=NORMAL)",
    "ours-sync": "as above; each step a sync lambda (`lambda i=i: i`), the README's form",
    "aws": "one checkpoint call per step to the runner's in-process service; "
    "in-memory store (its default): nothing on disk",
    "aws-sqlite": "one checkpoint per step into the runner's SQLite store (WAL, NORMAL)",
    "dbos": "one INSERT into operation_outputs per step, its own transaction "
    "(SQLAlchemy; SQLite as shipped: rollback journal, synchronous=FULL)",
    "dbos-wal": "as dbos, with WAL + synchronous=NORMAL on every connection",
}
LABELS = {
    "ours": "triggerfish (SQLiteStore), async fns",
    "ours-sync": "triggerfish (SQLiteStore), sync lambdas",
    "aws": "AWS durable execution SDK, local runner",
    "aws-sqlite": "AWS durable execution SDK, local runner, SQLite store",
    "dbos": "DBOS on SQLite (as shipped)",
    "dbos-wal": "DBOS on SQLite (WAL + synchronous=NORMAL)",
}


def ensure_venv() -> str | None:
    """The peers' python, installing them on first use; None when the install failed."""
    python = VENV / "bin" / "python"
    if python.exists():
        return str(python)
    print(f"installing the peers into {VENV} (once) ...", file=sys.stderr, flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
        if Path(uv).exists():
            command = [uv, "pip", "install", "--python", str(python), "-q", *PACKAGES]
        else:
            command = [str(python), "-m", "pip", "install", "-q", *PACKAGES]
        subprocess.run(command, check=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"peer install failed: {exc}", file=sys.stderr)
        shutil.rmtree(VENV, ignore_errors=True)
        return None
    return str(python)


def run_peer(python: str | None, peer: str, steps: int, timeout: float) -> dict[str, Any]:
    if python is None:
        return {"peer": peer, "error": "the peers' venv failed to install (see stderr)"}
    try:
        done = subprocess.run(
            [python, str(HERE / "peers_worker.py"), peer, str(steps)],
            check=False, capture_output=True, text=True, timeout=timeout, cwd=HERE,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"peer": peer, "error": f"did not finish within {timeout:.0f} s"}
    finally:
        for leftover in HERE.glob(f".peers-{peer.split('-')[0]}-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"peer": peer, "error": f"failed (exit {done.returncode}): {tail[:160]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def compare(steps: int, peers: list[str], timeout: float, repeat: int = 3) -> list[dict[str, Any]]:
    sys.path.insert(0, str(HERE))
    from steps import ours

    python = ensure_venv()
    forms = (("ours", False), ("ours-sync", True))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in [*dict(forms), *peers]}

    def run_ours() -> None:  # both forms in turn
        for name, sync in forms:
            runs[name].append(asyncio.run(ours(steps, sync=sync)))

    for round_ in range(repeat):  # rounds: every system sampled over the same minutes
        print(f"round {round_ + 1}/{repeat} ...", file=sys.stderr, flush=True)
        run_ours()
        for peer in peers:
            runs[peer].append(run_peer(python, peer, steps, timeout))
        run_ours()
    rows = []
    for name, measured in runs.items():
        good = [run for run in measured if "error" not in run]
        if not good:
            rows.append(measured[-1])
            continue
        rows.append({
            "peer": name, "runs": len(good),
            "ms_per_step": statistics.median(run["ms_per_step"] for run in good),
            "cpu_ms_per_step": statistics.median(run["cpu_ms_per_step"] for run in good),
        })  # fmt: skip
    return rows


def print_table(rows: list[dict[str, Any]], steps: int) -> None:
    base, sync = rows[0]["ms_per_step"], rows[1]["ms_per_step"]
    peer_runs = max((row.get("runs", 0) for row in rows[2:]), default=0)
    print(f"{steps:,} trivial durable steps in one run, Python {sys.version.split()[0]};"
          f" medians of {rows[0]['runs']} runs of ours and {peer_runs} of each peer")
    print("| system | ms/step | x ours (async) | x ours (sync lambdas) | what makes one step durable |")
    print("|---|---|---|---|---|")
    for row in rows:
        peer = row["peer"]
        if "error" in row:
            print(f"| {LABELS[peer]} | n/a | n/a | n/a | {row['error']} |")
            continue
        ms = row["ms_per_step"]
        print(f"| {LABELS[peer]} | {ms:.3f} | {ms / base:.1f}x | {ms / sync:.1f}x | {DURABLE[peer]} |")
    print("CPU time per step (each system's whole process, its threads included: steadier than")
    print("wall time on a shared machine, and not shortened by waiting)")
    print("| system | CPU ms/step | x ours (async) | x ours (sync lambdas) |")
    print("|---|---|---|---|")
    base, sync = rows[0]["cpu_ms_per_step"], rows[1]["cpu_ms_per_step"]
    for row in rows:
        if "error" not in row:
            cpu = row["cpu_ms_per_step"]
            print(f"| {LABELS[row['peer']]} | {cpu:.3f} | {cpu / base:.1f}x | {cpu / sync:.1f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--peers", default="aws,dbos,dbos-wal",
                        help="of aws, aws-sqlite (slow: ~150 ms/step), dbos, dbos-wal")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per peer")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of ours, every peer, ours again; medians")  # fmt: skip
    args = parser.parse_args()
    rows = compare(args.steps, args.peers.split(","), args.timeout, args.repeat)
    print_table(rows, args.steps)


if __name__ == "__main__":
    main()
