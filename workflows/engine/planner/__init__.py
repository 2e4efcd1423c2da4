"""The planner: what a run does next, decided from plain values (no ORM, no Django database).

The orchestrator reads a run's rows into a RunView, asks the definition's planner to `decide`, and
writes the Decision it answers: one interface for designed (dag.py) and code workflows (code.py),
so the orchestrator has one write path. The state table (states.py) and the retry policy (retry.py)
live here too, as the rules every layer above decides by.
"""
