"""Throughput of the local server: events over HTTP to `triggerfish dev` on SQLite.

    .venv/bin/python bench/throughput.py [--events 3000] [--seconds 30] [--concurrency 32]
                                         [--tasks sync|async] [--repeat 1] [--no-access-log]

A server process (`triggerfish dev`, uvicorn, SQLiteStore, LocalDispatcher) runs a job of
3 trivial tasks per event (sync lambdas, each in a worker thread, or with `--tasks async`
async fns); this process, the load generator, POSTs /api/events over
loopback with at most --concurrency requests in flight, stopping at --events events or
--seconds seconds, then waits (bounded) for the runs to end. Prints runs completed per
second and the p50/p99 latency from sending an event to its run's COMPLETED write (the
stored completed_at; same machine, same clock), and the server's CPU time per run (from
/proc: the steadiest figure on a shared machine). `--repeat N` measures N times with a new
server each and prints the medians too. Figures only; docs/performance.md quotes
a run. The load generator shares the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

JOBS = '''
from triggerfish.core import Client, SQLiteStore, event_trigger

client = Client("throughput", store=SQLiteStore(":memory:"))


@client.define_job(id="three", trigger=event_trigger("bench.event"))
async def three(payload, io, ctx):
    a = await io.run_task("a", lambda: 1)
    b = await io.run_task("b", lambda: 2)
    return await io.run_task("c", lambda: a + b)


async def one():
    return 1


@client.define_job(id="three-async", trigger=event_trigger("bench.async"))
async def three_async(payload, io, ctx):
    a = await io.run_task("a", one)
    b = await io.run_task("b", one)
    return await io.run_task("c", one) + a + b
'''
EVENT_NAMES = {"sync": "bench.event", "async": "bench.async"}
"""--tasks: sync lambdas (each runs in a worker thread) or async fns (on the event loop)."""


async def load(port: int, key: str, events: int, seconds: float, concurrency: int,
               event_name: str = "bench.event") -> tuple[dict[str, float], float]:  # fmt: skip
    """Sends events until `events` or `seconds`; returns {run id: send time} and the end.

    A minimal HTTP/1.1 keep-alive client on asyncio streams (one connection per slot in
    flight), so the load generator takes little of the CPU the server shares with it.
    """
    sent: dict[str, float] = {}
    stop_at = time.time() + seconds
    counter = iter(range(events))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for n in counter:
                if time.time() > stop_at:
                    return
                body = json.dumps({"name": event_name, "payload": {"n": n}}).encode()
                head = (f"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n")  # fmt: skip
                at = time.time()
                writer.write(head.encode() + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                answer = await reader.readexactly(length)
                if b" 202 " not in status_line:
                    raise RuntimeError(f"POST /api/events: {status_line!r} {answer[:200]!r}")
                for run_id in json.loads(answer)["run_ids"]:
                    sent[run_id] = at
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return sent, time.time()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): robust on a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def completed(db: Path, run_ids: set[str]) -> dict[str, float]:
    """completed_at of the runs that completed, read from the server's SQLite file."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute("SELECT id, status, data FROM runs").fetchall()
    finally:
        conn.close()
    return {
        run_id: json.loads(data)["completed_at"]
        for run_id, status, data in rows
        if run_id in run_ids and status == "COMPLETED"
    }


def measure(events: int, seconds: float, concurrency: int, wait_seconds: float,
            profile: str | None = None, tasks: str = "sync",
            access_log: bool = True) -> dict[str, Any]:  # fmt: skip
    from support.servers import free_port, wait_for_port

    folder = Path(tempfile.mkdtemp(prefix=".throughput-", dir=ROOT / "bench"))
    (folder / "throughput_jobs.py").write_text(JOBS)
    db = folder / "throughput.db"
    port, key = free_port(), "bench-key"
    path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "TRIGGERFISH_API_KEY": key}
    wrap = [sys.executable, "-m", "cProfile", "-o", profile] if profile else []
    server = subprocess.Popen(
        [*wrap, str(Path(sys.executable).parent / "triggerfish"), "dev", "throughput_jobs:client",
         "--db", str(db), "--host", "127.0.0.1", "--port", str(port),
         *([] if access_log else ["--no-access-log"])],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout_seconds=60)
        cpu_before = cpu_seconds(server.pid)
        sent, load_ended = asyncio.run(
            load(port, key, events, seconds, concurrency, EVENT_NAMES[tasks])
        )
        deadline = time.time() + wait_seconds
        done = completed(db, set(sent))
        while len(done) < len(sent) and time.time() < deadline:
            time.sleep(0.5)
            done = completed(db, set(sent))
        server_cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)
    latencies = sorted(1000 * (done[r] - sent[r]) for r in done)
    first_sent = min(sent.values())
    last_done = max(done.values()) if done else load_ended
    return {
        "events": len(sent),
        "completed": len(done),
        "seconds": last_done - first_sent,
        "runs_per_second": len(done) / (last_done - first_sent),
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
        "concurrency": concurrency,
        "tasks": tasks,
        "server_cpu_ms_per_run": 1000 * server_cpu / max(1, len(done)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=30.0, help="stop sending after this")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--wait", type=float, default=60.0, help="most seconds to wait for runs")
    parser.add_argument("--profile", help="write the server's cProfile stats to this file")
    parser.add_argument("--tasks", choices=sorted(EVENT_NAMES), default="sync",
                        help="the job's 3 task fns: sync lambdas (worker threads) or async fns")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure this many times (a new server each), then the medians")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false",
                        help="start the server with `triggerfish dev --no-access-log`")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    rows = []
    for _ in range(args.repeat):
        row = measure(args.events, args.seconds, args.concurrency, args.wait, args.profile,
                      args.tasks, args.access_log)
        if not rows:
            print(f"local server (triggerfish dev, SQLite), runs of 3 {row['tasks']} tasks, {row['events']:,} "
                  f"events over HTTP, {row['concurrency']} in flight, load generator on the same "
                  f"machine (load average {os.getloadavg()[0]:.1f}):")  # fmt: skip
        rows.append(row)
        print(f"  {row['completed']:,} of {row['events']:,} runs completed in {row['seconds']:.1f} s: "
              f"{row['runs_per_second']:.0f} runs/s; event to done p50 {row['p50_ms']:.0f} ms, "
              f"p99 {row['p99_ms']:.0f} ms; server CPU {row['server_cpu_ms_per_run']:.2f} ms per run "
              f"(a ceiling of {1000 / row['server_cpu_ms_per_run']:.0f} runs/s per core)")  # fmt: skip
    if len(rows) > 1:
        def median(name: str) -> float:
            return statistics.median(row[name] for row in rows)

        print(f"  median of {len(rows)}: {median('runs_per_second'):.0f} runs/s; p50 "
              f"{median('p50_ms'):.0f} ms, p99 {median('p99_ms'):.0f} ms; server CPU "
              f"{median('server_cpu_ms_per_run'):.2f} ms per run")  # fmt: skip


if __name__ == "__main__":
    main()
