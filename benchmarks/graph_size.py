"""Graph-size benchmark: does the cost of saving, activating and running grow with the graph?

What is measured
    Save and activate: POST /api/v1/workflows/ (a draft) then POST .../activate/, through Django's
    test client in this process (serializers, validation, version, the answer; the garbage collector
    set as in the web process, flowpilot/gc_tuning.py), for chains of
    100, 1,000 and 10,000 no-op steps and a wide DAG (one root, N - 2 parallel steps, one join).
    Run: executions of a 5-step chain (400 of them, half before and half after the big one: as many
    steps) and one of a 2,000-step chain, started by `execution_start` and run
    step after step in this process by the SynchronousExecutor (claim, handler, record, advance:
    the engine's whole path per step, without a broker); the time per step and the ratio of the
    two. The ratio is the figure that matters: 1.0 means a step costs the same in a big workflow.

How
    Its own database, never the dev data: `<name>_graph_bench` next to DATABASE_URL's (default
    flowpilot_graph_bench) is dropped, created and migrated. Redis (REDIS_URL) only carries the
    live events of the runs, as in production.

    make bench-graph
    make bench-graph BENCH_ARGS="--sizes 100,1000 --run-steps 5,500"
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from urllib.parse import urlsplit, urlunsplit

from .databases import recreate_database
from .diamond import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, configure


def bench_database_url() -> str:
    db = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    if db.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"the benchmark needs PostgreSQL; DATABASE_URL is {db.scheme}://...")
    name = (db.path.lstrip("/") or "flowpilot").removesuffix("_bench")
    return urlunsplit(db._replace(path=f"/{name}_graph_bench"))


def step(key: str, *depends_on: str) -> dict:
    return {"key": key, "task_type": "python", "config": {"function": "bench_noop"}, "depends_on": list(depends_on)}


def chain(size: int) -> list[dict]:
    return [step("s1")] + [step(f"s{i}", f"s{i - 1}") for i in range(2, size + 1)]


def wide(size: int) -> list[dict]:
    """root -> (size - 2 parallel steps) -> join."""
    middle = [f"p{i}" for i in range(1, size - 1)]
    return [step("root"), *(step(key, "root") for key in middle), step("join", *middle)]


def timed(fn):
    begin = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - begin


def save_and_activate(client, name: str, steps: list[dict]) -> tuple[float, float]:
    """Seconds to save the workflow (a draft) and to activate it, over the API."""
    # Encoded beforehand, as a client would (compact, as DRF answers): not counted as the server's time.
    body = json.dumps({"name": name, "steps": steps}, separators=(",", ":"))
    response, save = timed(lambda: client.post("/api/v1/workflows/", body, content_type="application/json"))
    assert response.status_code == 201, (response.status_code, str(response.data)[:500])
    pk = response.data["id"]
    response, activate = timed(lambda: client.post(f"/api/v1/workflows/{pk}/activate/"))
    assert response.status_code == 200, (response.status_code, str(response.data)[:500])
    return save, activate


def run_chain(owner, executor, size: int, *, runs: int = 1) -> float:
    """Seconds per step of `runs` runs, one after another, of a `size`-step chain, run in this process."""
    from workflows import services
    from workflows.models import WorkflowExecution

    workflow = services.workflow_create(owner=owner, data={"name": f"run {size}", "status": "active"},
                                        steps=chain(size))
    begin = time.perf_counter()
    for _ in range(runs):
        execution, _ = services.execution_start(workflow=workflow, input_data={}, triggered_by="python")
        ran = executor.drain(limit=size + 10)
        status = WorkflowExecution.objects.values_list("status", flat=True).get(pk=execution.pk)
        assert status == "completed" and ran == size, (status, ran, size)
    return (time.perf_counter() - begin) / (size * runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.graph_size", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="chain and wide-DAG sizes to save (steps)")
    parser.add_argument("--run-steps", default="5,2000", help="the small and the big chain to run (steps)")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.sizes.split(",")]
    small, big = (int(n) for n in args.run_steps.split(","))

    database_url = bench_database_url()
    print(f"database {urlsplit(database_url).path.lstrip('/')} (recreated)", file=sys.stderr)
    recreate_database(database_url)
    configure(database_url, os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)

    import django

    django.setup()  # only now: the settings read the environment set above
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from flowpilot import gc_tuning
    from workflows.engine.executors import SynchronousExecutor, set_executor

    call_command("migrate", verbosity=0, interactive=False)
    gc_tuning.tune()  # as the web process does once it has started (flowpilot/asgi.py)
    owner = get_user_model().objects.create(username="bench")
    client = APIClient()
    client.force_authenticate(owner)
    executor = SynchronousExecutor()
    set_executor(executor)

    save_and_activate(client, "warm-up", chain(10))
    run_chain(owner, executor, small)

    rows = []
    for shape, build in (("chain", chain), ("wide", wide)):
        for size in sizes:
            save, activate = save_and_activate(client, f"{shape} {size}", build(size))
            rows.append((f"{shape} of {size:,}", save, activate))
            print(f"  {rows[-1][0]}: save {save:.2f} s, activate {activate:.2f} s", file=sys.stderr, flush=True)
    # As many steps of small runs as the big run has (one small run is too short to time on a busy
    # machine), the big run between two halves of them.
    small_runs = max(1, big // small // 2)
    first = run_chain(owner, executor, small, runs=small_runs)
    per_big = run_chain(owner, executor, big)
    per_small = (first + run_chain(owner, executor, small, runs=small_runs)) / 2

    header = "save + activate over the API"
    width = max(len(header), *(len(r[0]) for r in rows))
    lines = [
        f"Graph-size benchmark ({os.cpu_count()} CPUs, in-process, PostgreSQL)",
        "",
        f"{header:<{width}}  {'save s':>8}  {'activate s':>10}  {'total s':>8}  {'ms/step':>8}",
        *(f"{name:<{width}}  {save:>8.2f}  {activate:>10.2f}  {save + activate:>8.2f}  "
          f"{(save + activate) * 1000 / int(name.split()[-1].replace(',', '')):>8.2f}"
          for name, save, activate in rows),
    ]
    for shape in ("chain", "wide"):
        mine = [(int(n.split()[-1].replace(",", "")), s + a) for n, s, a in rows if n.startswith(shape)]
        if len(mine) > 1:
            (n0, t0), (n1, t1) = mine[0], mine[-1]
            lines.append(f"{shape}: per-step cost at {n1:,} steps / at {n0:,} steps: {(t1 / n1) / (t0 / n0):.2f}")
    lines += [
        "",
        f"run, {small}-step chain ({2 * small_runs} runs): {per_small * 1000:.2f} ms/step",
        f"run, {big:,}-step chain: {per_big * 1000:.2f} ms/step ({per_big * big:.1f} s in all)",
        f"per-step cost, {big:,} steps / {small} steps: {per_big / per_small:.2f}",
    ]
    print()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
