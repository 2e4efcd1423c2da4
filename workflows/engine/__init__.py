"""The engine: a run's durable state and how it moves (one Django app's runtime, below the services).

    planner/        pure decisions from plain values, no ORM: the state table, the DAG, the code
                    workflow's planner, the retry policy
    transitions     the one writer of `status`, each move with its event (events: written at commit)
    definition      a version's parsed definition (steps, graph, its planner)
    executors       how a queued step reaches a worker (Celery by task name, or in-process)
    invoke          one attempt of a step's handler, bounded; heartbeat: its lease
    children, concurrency, lineage   child runs parked on a step, admission slots, a run's family
    replay          a replay's steps answered by a mock or a recording instead of running (ADR 0026)
    orchestrator    reads a run's rows, asks the planner, writes its decision (the one write path)
    child_cancel    cancelling a run's descendants with it

Above: workflows/services (what callers ask for), selectors, then the API, tasks, admin, code/.
Each module imports only those below it (.importlinter, checked by `make test`).
"""
