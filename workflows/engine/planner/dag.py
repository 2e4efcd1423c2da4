"""Pure decisions over a designed workflow (a DAG): is it valid, what runs next, is the run over.

No ORM, no Celery. A definition is the frozen JSON of a version (see engine/definition.py); step
states are a mapping of step key to the status of its latest attempt. DagPlanner is the designed
workflow's Planner (decision.py): it reads the run through the orchestrator's RunView, asks
`decide()` (or `decide_after()`, around the steps that just moved), and answers what to write.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from .decision import Decision, RunView
from .states import TaskStatus as T

DONE = frozenset({T.COMPLETED, T.SKIPPED})
# The branch a failure path takes: `"<key>:failed"` runs only when <key> failed for good.
FAILED = "failed"
# What a failure halts at once: not started, or holding no worker.
HALTABLE = frozenset({T.QUEUED, T.WAITING, T.RETRYING})


@dataclass(frozen=True)
class Issue:
    """One validation problem, naming the step (key or position) and the field."""

    step: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"step {self.step!r}" if self.step else "workflow"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


def parse_ref(ref: str) -> tuple[str, str]:
    """A dependency as written: "key" (runs after key), "key:branch" (only on that branch of key) or
    "key:failed" (a failure path: only when key failed for good)."""
    key, _, branch = ref.partition(":")
    return key, branch


@dataclass(frozen=True)
class Graph:
    """The dependency structure of a definition: keys in a stable order, edges, conditions.

    `deps[key]` holds the upstream keys; `edge_branch[(key, upstream)]` the branch an edge needs;
    `on_failure` the edges (key, upstream) of failure paths; `continue_on_failure` the steps whose
    failure lets the run carry on as if they completed.
    """

    order: tuple[str, ...]
    deps: Mapping[str, tuple[str, ...]]
    when: Mapping[str, str]
    edge_branch: Mapping[tuple[str, str], str] = field(default_factory=dict)
    on_failure: frozenset[tuple[str, str]] = frozenset()
    continue_on_failure: frozenset[str] = frozenset()

    @classmethod
    def from_steps(cls, steps: Iterable[Mapping]) -> Graph:
        """The normal flow of `steps`: a compensation step (named by a step's compensate_with) runs
        only as a compensation (planner/compensation.py), never as a node of the graph."""
        steps = list(steps)
        compensations = compensation_steps(steps)
        ordered = sorted((s for s in steps if s["key"] not in compensations),
                         key=lambda s: (s.get("step_order", 0), s["key"]))
        edges = {s["key"]: [parse_ref(r) for r in s.get("depends_on") or ()] for s in ordered}
        return cls(
            order=tuple(s["key"] for s in ordered),
            deps={key: tuple(dep for dep, _ in pairs) for key, pairs in edges.items()},
            when={s["key"]: (s.get("when") or "").strip() for s in ordered},
            edge_branch={(key, dep): branch for key, pairs in edges.items() for dep, branch in pairs
                         if branch and branch != FAILED},
            on_failure=frozenset((key, dep) for key, pairs in edges.items() for dep, branch in pairs
                                 if branch == FAILED),
            continue_on_failure=frozenset(s["key"] for s in ordered if s.get("continue_on_failure")),
        )

    @cached_property
    def handled(self) -> frozenset[str]:
        """The steps whose failure (for good) does not fail the run: those with a failure path, and
        those that continue on failure."""
        return self.continue_on_failure | {dep for _, dep in self.on_failure}

    @cached_property
    def downstream(self) -> Mapping[str, tuple[str, ...]]:
        """Each key's dependents, in order: built once in O(steps + edges), so that a step's
        dependents cost O(their number), not a scan of the graph."""
        found: dict[str, list[str]] = {key: [] for key in self.order}
        for key in self.order:
            for dep in self.deps[key]:
                found[dep].append(key)
        return {key: tuple(keys) for key, keys in found.items()}

    @cached_property
    def position(self) -> Mapping[str, int]:
        return {key: index for index, key in enumerate(self.order)}

    def dependents(self, key: str) -> tuple[str, ...]:
        return self.downstream[key]

    def roots(self) -> tuple[str, ...]:
        return tuple(k for k in self.order if not self.deps[k])


def compensation_steps(steps: Iterable[Mapping]) -> frozenset[str]:
    """The keys of the steps that run only as compensations: those some step's compensate_with names."""
    return frozenset(s["compensate_with"] for s in steps if s.get("compensate_with"))


def _compensation_issues(steps: list[Mapping], by_key: Mapping[str, Mapping]) -> list[Issue]:
    """A step's compensate_with names another step that runs only as a compensation: it exists, is
    not the step itself, is no part of the normal flow (no dependencies, nothing depends on it) and
    is not compensated itself."""
    issues: list[Issue] = []
    depended_on = {parse_ref(ref)[0] for s in steps for ref in s.get("depends_on") or ()}
    named = compensation_steps(s for s in steps if isinstance(s.get("compensate_with"), str))
    for step in steps:
        target = step.get("compensate_with")
        if target is None or target == "":
            continue
        key = step.get("key") or ""
        if not isinstance(target, str):
            issues.append(Issue(key, "compensate_with", "must be a step key or empty"))
        elif target == key:
            issues.append(Issue(key, "compensate_with", "a step cannot compensate itself"))
        elif target not in by_key:
            issues.append(Issue(key, "compensate_with", f"names unknown step {target!r}"))
        elif by_key[target].get("depends_on"):
            issues.append(Issue(key, "compensate_with", f"{target!r} depends on other steps: a compensation step "
                                                        "runs only as a compensation, never in the normal flow; "
                                                        "remove its dependencies"))
        elif target in depended_on:
            issues.append(Issue(key, "compensate_with", f"other steps depend on {target!r}: a compensation step "
                                                        "runs only as a compensation, never in the normal flow"))
        elif by_key[target].get("compensate_with"):
            issues.append(Issue(key, "compensate_with", f"{target!r} has a compensation of its own: a "
                                                        "compensation step is not compensated"))
        elif key in named:
            issues.append(Issue(key, "compensate_with", "a compensation step is not compensated itself"))
    return issues


def find_cycle(deps: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle as a list of keys (first == last), or None. Iterative DFS: no recursion limit."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(deps, WHITE)
    for start in deps:
        if colour[start] != WHITE:
            continue
        stack: list[tuple[str, list[str]]] = [(start, [d for d in deps[start] if d in deps])]
        path = [start]
        colour[start] = GREY
        while stack:
            node, todo = stack[-1]
            if not todo:
                colour[node] = BLACK
                stack.pop()
                path.pop()
                continue
            nxt = todo.pop()
            if colour[nxt] == GREY:
                return path[path.index(nxt):] + [nxt]
            if colour[nxt] == WHITE:
                colour[nxt] = GREY
                path.append(nxt)
                stack.append((nxt, [d for d in deps[nxt] if d in deps]))
    return None


def validate(
    steps: list[Mapping],
    *,
    known_types: Iterable[str],
    check_config: Callable[[str, dict], list[tuple[str, str]]] = lambda t, c: [],
    check_template: Callable[[str], str | None] = lambda s: None,
    branches_of: Callable[[str, dict], list[str] | None] = lambda t, c: None,
) -> list[Issue]:
    """Every problem of a definition: keys, dependencies, branches, cycles, step types, configs,
    conditions.

    `check_config(task_type, config)` answers (field, message) pairs for a config that does not
    match the type's schema; `check_template(text)` answers an error message or None;
    `branches_of(task_type, config)` the branches a step can choose (None: it has none).
    """
    issues: list[Issue] = []
    known = set(known_types)
    keys: set[str] = set()
    for index, step in enumerate(steps):
        key = step.get("key") or ""
        label = key or f"#{index + 1}"
        if not key:
            issues.append(Issue(label, "key", "is required"))
        elif key in keys:
            issues.append(Issue(key, "key", "is used by more than one step"))
        keys.add(key)
        task_type = step.get("task_type") or ""
        if task_type not in known:
            issues.append(Issue(label, "task_type",
                                f"unknown step type {task_type!r}; known types: {', '.join(sorted(known))}"))
        else:
            for fld, message in check_config(task_type, step.get("config") or {}):
                issues.append(Issue(label, f"config.{fld}" if fld else "config", message))
        if not isinstance(step.get("continue_on_failure", False), bool):
            issues.append(Issue(label, "continue_on_failure", "must be true or false"))
        when = (step.get("when") or "").strip()
        if when:
            error = check_template(when)
            if error:
                issues.append(Issue(label, "when", error))
    by_key = {s.get("key"): s for s in steps}
    for step in steps:
        key = step.get("key") or ""
        seen: dict[str, str] = {}
        for ref in step.get("depends_on") or ():
            dep, branch = parse_ref(ref)
            if dep == key:
                issues.append(Issue(key, "depends_on", "a step cannot depend on itself"))
            elif dep not in by_key:
                issues.append(Issue(key, "depends_on", f"depends on unknown step {dep!r}"))
            elif dep in seen and FAILED in (branch, seen[dep]) and branch != seen[dep]:
                issues.append(Issue(key, "depends_on", f"depends on both {dep!r} and {dep + ':' + FAILED!r}: "
                                                       "a step after both a step and its failure never runs"))
            elif dep in seen:
                issues.append(Issue(key, "depends_on", f"depends on {dep!r} more than once"))
            elif branch == FAILED:  # a failure path: any step may have one
                upstream = by_key[dep]
                known_branches = branches_of(upstream.get("task_type") or "", upstream.get("config") or {}) \
                    if upstream.get("task_type") in known else None
                if known_branches and FAILED in known_branches:
                    issues.append(Issue(key, "depends_on", f"{dep!r} has a branch named {FAILED!r}, which "
                                                           f"{ref!r} would confuse with its failure path: rename "
                                                           "that branch"))
            elif branch:
                upstream = by_key[dep]
                known_branches = branches_of(upstream.get("task_type") or "", upstream.get("config") or {}) \
                    if upstream.get("task_type") in known else None
                if known_branches is None:
                    issues.append(Issue(key, "depends_on", f"{dep!r} has no branches to choose from ({ref!r})"))
                elif branch not in known_branches:
                    issues.append(Issue(key, "depends_on", f"{dep!r} has no branch {branch!r}; its branches: "
                                                           f"{', '.join(known_branches)}"))
            seen.setdefault(dep, branch)
    issues.extend(_compensation_issues(steps, by_key))
    if not any(i.field in ("key", "depends_on") for i in issues):
        cycle = find_cycle({s["key"]: [parse_ref(r)[0] for r in s.get("depends_on") or ()] for s in steps})
        if cycle:
            issues.append(Issue(cycle[0], "depends_on",
                                "dependency cycle: " + " -> ".join(reversed(cycle))))
    return issues


class ConditionError(Exception):
    """A `when` condition could not be evaluated (missing variable, error in the expression)."""


def _verdict(graph: Graph, key: str, edge_state: Callable[[str, str], str],
             evaluate_when: Callable[[str, str], bool]) -> str | None:
    """What a pending step becomes now: queued, skipped, or None while a dependency is not done.
    Raises ConditionError from its `when`."""
    dep_states = [edge_state(key, d) for d in graph.deps[key]]
    if any(s not in DONE for s in dep_states):
        return None
    if dep_states and all(s == T.SKIPPED for s in dep_states):
        return T.SKIPPED
    if graph.when[key]:
        return T.QUEUED if evaluate_when(key, graph.when[key]) else T.SKIPPED
    return T.QUEUED


def _edge_states(graph: Graph, states: Mapping[str, str], chosen: Mapping[str, str]) -> Callable[[str, str], str]:
    """An edge's state as its downstream step weighs it. A failure path's edge is taken (completed)
    when its upstream step failed for good, untaken (skipped) when it completed or was skipped. A
    handled failure counts as completed on the edges of a step that continues on failure, as
    skipped on the normal edges of a step with a failure path."""
    def edge_state(key: str, dep: str) -> str:
        state = states[dep]
        if (key, dep) in graph.on_failure:
            return T.COMPLETED if state == T.FAILED else T.SKIPPED if state in DONE else state
        if state == T.FAILED and dep in graph.handled:
            return T.COMPLETED if dep in graph.continue_on_failure and (key, dep) not in graph.edge_branch \
                else T.SKIPPED
        needed = graph.edge_branch.get((key, dep))
        if needed and state == T.COMPLETED and chosen.get(dep) != needed:
            return T.SKIPPED
        return state

    return edge_state


def decide(graph: Graph, states: Mapping[str, str],
           evaluate_when: Callable[[str, str], bool] = lambda key, expr: True,
           branches: Mapping[str, str] | None = None) -> Decision:
    """The next moves of a run, given the status of each step's latest attempt (and the branch
    each completed step chose).

    A pending step is ready once every dependency is completed or skipped. An edge that needs a
    branch the upstream step did not choose counts as skipped. A step is skipped if all its
    dependencies were skipped (skipping propagates) or its `when` is false; so a join after an
    if/else runs once the taken branch is done. A failed step stops new work: what has not started
    is halted, what runs is awaited, and then the run has failed; unless its failure is handled (a
    failure path, or it continues on failure): then the run goes on (see _edge_states) and the
    decision names it in `handled_failures`.
    """
    states = dict(states)
    edge_state = _edge_states(graph, states, branches or {})
    decision = Decision()

    def unhandled() -> bool:
        return any(s == T.FAILED and k not in graph.handled for k, s in states.items())

    progressed = not unhandled()
    while progressed:
        progressed = False
        for key in graph.order:
            if states[key] != T.PENDING:
                continue
            try:
                verdict = _verdict(graph, key, edge_state, evaluate_when)
            except ConditionError as exc:
                decision.fail[key] = str(exc)
                states[key] = T.FAILED
                progressed = key in graph.handled  # its failure path may be ready now
                break
            if verdict is None:
                continue
            states[key] = verdict
            (decision.queue if verdict == T.QUEUED else decision.skip).append(key)
            progressed = progressed or verdict == T.SKIPPED
    if any(s == T.FAILED for s in states.values()):  # else None: the usual decision, with nothing to write
        decision.handled_failures = [k for k in graph.order if states[k] == T.FAILED and k in graph.handled]
    if unhandled():
        for key in decision.queue:
            states[key] = T.PENDING  # not sent: a failure stops new work
        decision.queue = []
        decision.halt = [k for k in graph.order if states[k] in HALTABLE]
        if not any(states[k] == T.RUNNING for k in graph.order):
            decision.outcome = "failed"
    elif all(states[k] in DONE or states[k] == T.FAILED for k in graph.order):  # failures here: handled
        decision.outcome = "completed"
    return decision


def decide_after(graph: Graph, changed: Iterable[str], states: Mapping[str, str],
                 evaluate_when: Callable[[str, str], bool] = lambda key, expr: True,
                 branches: Mapping[str, str] | None = None) -> Decision | None:
    """The moves `decide` would answer after the steps in `changed` completed (or moved without
    failing), looking only at their dependents and, as skips propagate, at theirs: the cost is the
    edges around what changed, not the graph. `states` (and `branches`) are read only for those
    steps and their dependencies, so a caller may load them on demand.

    It never answers an outcome: the run is completed once every sink is done (a step is done only
    after all its dependencies are), which the caller checks when a sink is done. None when a
    condition failed: the caller asks `decide` over the whole run, which fails and halts it.
    """
    decided: dict[str, str] = {}
    current = _Overlay(decided, states)
    edge_state = _edge_states(graph, current, branches or {})
    decision = Decision()
    todo = deque(k for c in changed for k in graph.dependents(c))
    while todo:
        key = todo.popleft()
        if current[key] != T.PENDING:
            continue
        try:
            verdict = _verdict(graph, key, edge_state, evaluate_when)
        except ConditionError:
            return None
        if verdict is None:
            continue
        decided[key] = verdict
        if verdict == T.QUEUED:
            decision.queue.append(key)
        else:
            decision.skip.append(key)
            todo.extend(graph.dependents(key))
    decision.queue.sort(key=graph.position.__getitem__)
    decision.skip.sort(key=graph.position.__getitem__)
    return decision


class _Overlay(Mapping):
    """Statuses decided in this call over those read from the run."""

    def __init__(self, decided: dict[str, str], states: Mapping[str, str]):
        self.decided, self.states = decided, states

    def __getitem__(self, key: str) -> str:
        return self.decided[key] if key in self.decided else self.states[key]

    def __iter__(self):
        return iter(self.decided)

    def __len__(self) -> int:
        return len(self.decided)


class Column(Mapping):
    """One field of the attempts by step key (a default for a step with no row), as decide_after
    reads statuses and branches."""

    def __init__(self, rows: Mapping[str, object | None], name: str, default: str):
        self.rows, self.name, self.default = rows, name, default

    def __getitem__(self, key: str) -> str:
        row = self.rows[key]
        return getattr(row, self.name) if row is not None else self.default

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class DagPlanner:
    """The Planner of a designed workflow: every step gets a row when the run starts; after a step
    moves, only the steps around it are read and weighed (decide_after), so a step costs the same in
    a graph of any size. The whole run is decided when nothing is named, an attempt has failed, or
    a condition could not be evaluated."""

    graph: Graph

    @property
    def initial_steps(self) -> tuple[str, ...]:
        return self.graph.order

    def decide(self, run: RunView, changed: tuple[str, ...] = ()) -> Decision:
        if changed:
            decision = self._around(run, changed)
            if decision is not None:
                return decision
        return self._whole(run)

    def _around(self, run: RunView, changed: tuple[str, ...]) -> Decision | None:
        graph = self.graph
        downstream = {k for c in changed for k in graph.dependents(c)}
        rows = run.attempts({*changed, *downstream, *(d for k in downstream for d in graph.deps[k])})
        if run.has_failed_attempt():  # a failure stops new work: the whole run decides how
            return None
        decision = decide_after(graph, changed, Column(rows, "status", T.PENDING), run.when,
                                branches=Column(rows, "branch", ""))
        if decision is None:
            return None
        # The run is over once every sink is done: look only when one just became done.
        sink_done = any(not graph.dependents(k) and (k in decision.skip or rows[k].status in DONE)
                        for k in (*changed, *decision.skip))
        if sink_done and not decision.queue and not run.has_open_step(besides=decision.skip):
            decision.outcome = "completed"
        return decision

    def _whole(self, run: RunView) -> Decision:
        rows = run.attempts()
        states = {key: rows[key].status if key in rows else T.PENDING for key in self.graph.order}
        decision = decide(self.graph, states, run.when,
                          branches={key: row.branch for key, row in rows.items() if row.branch})
        if decision.outcome == "failed":
            decision.failed_steps = {key: decision.fail.get(key) or rows[key].error_message
                                     for key in self.graph.order if key in rows and (
                                         key in decision.fail or rows[key].status == T.FAILED)
                                     and key not in (decision.handled_failures or ())}
            first_key, first_message = next(iter(decision.failed_steps.items()))
            decision.error = f"step {first_key!r} failed: {first_message}"
        return decision
