"""A workflow's definition as frozen JSON: built from the editable rows, checked, and read by runs.

A version's definition never changes, so the parsed form is cached per version in each process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

from django.conf import settings

from .. import bounds, flow_limits, search_fields, templating
from ..models import WorkflowVersion
from ..steps import registry
from .planner import dag
from .planner.code import CodePlanner
from .planner.dag import DagPlanner
from .planner.decision import Planner
from .planner.retry import RetryPolicy

DEFAULT_RETRY = {"max_retries": 3, "base_delay": 1.0, "backoff_factor": 2.0, "max_delay": 300.0}
STEP_FIELDS = ("key", "name", "task_type", "config", "depends_on", "step_order", "timeout_seconds", "when",
               "position", "continue_on_failure", "limits", "compensate_with")


def _retry_fields(source: dict) -> dict:
    return {"max_retries": source.get("max_retries"), "base_delay": source.get("retry_base_delay"),
            "backoff_factor": source.get("retry_backoff_factor"), "max_delay": source.get("retry_max_delay")}


def from_data(*, workflow: dict, steps: list[dict]) -> dict:
    """The definition of a workflow from plain data (the API's shape, or model fields)."""
    return {
        "name": workflow.get("name", ""),
        "retry": _retry_fields(workflow),
        # Kept only when set: a workflow without them publishes the definition it did before.
        **({"search_fields": dict(workflow["search_fields"])} if workflow.get("search_fields") else {}),
        **({"limits": dict(workflow["limits"])} if workflow.get("limits") else {}),
        "steps": [
            {
                "key": s["key"], "name": s.get("name") or s["key"], "task_type": s["task_type"],
                "config": s.get("config") or {}, "depends_on": list(s.get("depends_on") or []),
                "step_order": s.get("step_order") or 0, "timeout_seconds": s.get("timeout_seconds"),
                "when": s.get("when") or "", "retry": _retry_fields(s),
                # Where the designer drew it: the monitor shows a past version's graph as it was drawn.
                "position": {"x": s.get("position_x") or 0, "y": s.get("position_y") or 0},
                # Kept only when set: a step without it publishes the definition it did before.
                **({"continue_on_failure": True} if s.get("continue_on_failure") else {}),
                **({"limits": dict(s["limits"])} if s.get("limits") else {}),
                **({"compensate_with": s["compensate_with"]} if s.get("compensate_with") else {}),
            }
            for s in steps
        ],
    }


def issues(definition: dict) -> list[dag.Issue]:
    """Every problem of a definition, each naming its step and field."""
    high = bounds.max_workflow_steps()
    if len(definition["steps"]) > high:  # before the graph is walked: a bigger one is refused whole
        return [dag.Issue("", "steps", f"at most {high} steps in one workflow; this one has "
                                       f"{len(definition['steps'])}")]
    checked: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def check_config(task_type: str, config: dict) -> list[tuple[str, str]]:
        # Steps often share a config (a type's defaults): each distinct one is checked once.
        key = (task_type, json.dumps(config, sort_keys=True, default=str))
        if key not in checked:
            checked[key] = _check_config(task_type, config)
        return checked[key]

    found = dag.validate(
        definition["steps"],
        known_types=registry.names(),
        check_config=check_config,
        check_template=templating.condition_syntax_error,
        branches_of=registry.branches_of,
    )
    try:
        RetryPolicy.merged(DEFAULT_RETRY, definition.get("retry") or {})
    except (TypeError, ValueError) as exc:
        found.append(dag.Issue("", "retry", str(exc)))
    for path, messages in search_fields.problems(definition.get("search_fields"),
                                                 step_keys=[s.get("key") for s in definition["steps"]]).items():
        found.extend(dag.Issue("", path, message) for message in messages)
    step_keys = [s.get("key") for s in definition["steps"]]
    for path, messages in flow_limits.problems(definition.get("limits"), step_keys=step_keys).items():
        found.extend(dag.Issue("", path, message) for message in messages)
    retry_problems: dict[str, str | None] = {}  # steps mostly share their retry fields: each checked once
    for step in definition["steps"]:
        own = {k: v for k, v in (step.get("retry") or {}).items() if v is not None}
        key = json.dumps(own, sort_keys=True, default=repr)
        if key not in retry_problems:
            try:
                RetryPolicy.merged(DEFAULT_RETRY, {**(definition.get("retry") or {}), **own})
                retry_problems[key] = None
            except (TypeError, ValueError) as exc:
                retry_problems[key] = str(exc)
        if retry_problems[key] is not None:
            found.append(dag.Issue(step.get("key", ""), "retry", retry_problems[key]))
        if (problem := _timeout_problem(step.get("timeout_seconds"))) is not None:
            found.append(dag.Issue(step.get("key", ""), "timeout_seconds", problem))
        if step.get("limits"):
            found.extend(_step_limits_issues(step, step_keys))
    return found


def _step_limits_issues(step: dict, step_keys: list) -> list[dag.Issue]:
    key = step.get("key", "")
    try:
        calls_hosts = registry.get(step.get("task_type", "")).calls_hosts
    except registry.UnknownStepType:
        return []  # the graph's check names the unknown type
    if not calls_hosts:
        return [dag.Issue(key, "limits", f"a step of type {step.get('task_type')!r} calls no host: set limits on "
                                         f"the workflow, or on a step that calls one "
                                         f"({', '.join(registry.calling_hosts())})")]
    return [dag.Issue(key, path, message)
            for path, messages in flow_limits.problems(step["limits"], step_keys=step_keys, step=True).items()
            for message in messages]


def _timeout_problem(timeout) -> str | None:
    if timeout is None:
        return None
    high = bounds.max_step_timeout()
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= high:
        return f"must be a number of seconds above 0 and at most {high:g}"
    return None


def _check_config(task_type: str, config: dict) -> list[tuple[str, str]]:
    return templating.template_errors(config) or registry.config_errors(task_type, config, rendered=False)


def config_problems(task_type: str, config: dict) -> list[tuple[str, str]]:
    """(field, message) for each way `config` breaks the step type's schema or the templates' rules:
    the check of a step's config at save time, for a config given elsewhere (an edit-and-resume)."""
    return _check_config(task_type, config)


@dataclass(frozen=True)
class Step:
    key: str
    name: str
    task_type: str
    config: dict
    depends_on: tuple[str, ...]
    when: str
    timeout_seconds: float
    retry: RetryPolicy
    continue_on_failure: bool = False
    limits: flow_limits.Limits = flow_limits.NONE  # its own flow control (a step that calls hosts)
    compensate_with: str = ""  # the step that undoes this one (planner/compensation.py); "" none


class Definition:
    """A parsed, validated definition: the graph, and each step's effective settings."""

    def __init__(self, data: dict, *, number: int | None = None):
        self.data = data
        self.number = number  # the version's number, when read from a stored version
        # Stored values are clamped, not refused: a version saved before a bound existed still runs.
        default = RetryPolicy.merged(DEFAULT_RETRY, data.get("retry") or {}, clamp=True)
        default_fields = {"max_retries": default.max_retries, "base_delay": default.base_delay,
                          "backoff_factor": default.backoff_factor, "max_delay": default.max_delay}
        self.steps: dict[str, Step] = {
            s["key"]: Step(
                key=s["key"], name=s.get("name") or s["key"], task_type=s["task_type"],
                config=s.get("config") or {}, depends_on=tuple(s.get("depends_on") or ()),
                when=s.get("when") or "",
                timeout_seconds=bounds.clamp(s.get("timeout_seconds") or settings.FLOWPILOT_DEFAULT_TIMEOUT_SECONDS,
                                             0.001, bounds.max_step_timeout(),
                                             default=settings.FLOWPILOT_DEFAULT_TIMEOUT_SECONDS),
                retry=RetryPolicy.merged(default_fields, s.get("retry") or {}, clamp=True),
                continue_on_failure=s.get("continue_on_failure") is True,
                limits=flow_limits.parse(s.get("limits"), step=True),
                compensate_with=s.get("compensate_with") or "",
            )
            for s in data["steps"]
        }
        # Which steps set their own max_retries: a run's max_retries (given at its start) replaces the
        # workflow's default, not a step's own.
        self._own_max_retries = {s["key"] for s in data["steps"] if (s.get("retry") or {}).get("max_retries") is not None}

    def retry_policy(self, step_key: str, *, run_max_retries: int | None = None) -> RetryPolicy:
        """The retry policy of a step in a run: the step's, with `run_max_retries` (the run's override,
        clamped to bounds.MAX_RETRIES) as its retry count unless the step sets its own."""
        policy = self.steps[step_key].retry
        if run_max_retries is None or step_key in self._own_max_retries:
            return policy
        return replace(policy, max_retries=int(bounds.clamp(run_max_retries, 0, bounds.MAX_RETRIES,
                                                            default=policy.max_retries)))

    @property
    def kind(self) -> str:
        """"designed" (a DAG drawn or posted as JSON) or "code" (workflows.code: a step names the next)."""
        return self.data.get("kind") or "designed"

    @property
    def planner(self) -> Planner:
        """How runs of this workflow move on (planner/decision.py): the one place a workflow's kind
        chooses anything in the engine. Built when asked (cheap), so the settings it reads are current."""
        if self.kind == "code":
            return CodePlanner(start=self.data["code"]["start"], steps=frozenset(self.steps),
                               max_visits=settings.FLOWPILOT_CODE_MAX_VISITS)
        return DagPlanner(self.graph)

    @property
    def initial_steps(self) -> tuple[str, ...]:
        """The steps a new run gets rows for: every step of a DAG; a code workflow's start step."""
        return self.planner.initial_steps

    @cached_property
    def limits(self) -> flow_limits.Limits:
        """The workflow's flow control (workflows/flow_limits.py); flow_limits.NONE for most."""
        return flow_limits.parse(self.data.get("limits"))

    @cached_property
    def search_fields(self) -> tuple[search_fields.SearchField, ...]:
        """The search fields its runs keep values of (workflows/search_fields.py); () for most."""
        return search_fields.parse(self.data.get("search_fields"))

    @cached_property
    def search_at_start(self) -> tuple[search_fields.SearchField, ...]:
        """The search fields known when a run starts: those reading the input only."""
        return tuple(f for f in self.search_fields if not f.steps)

    @cached_property
    def search_by_step(self) -> dict[str, tuple[search_fields.SearchField, ...]]:
        """The search fields to (re)compute when a step completes: those reading its output."""
        by_step: dict[str, list] = {}
        for field in self.search_fields:
            for key in field.steps:
                by_step.setdefault(key, []).append(field)
        return {key: tuple(fields) for key, fields in by_step.items()}

    @cached_property
    def compensate_with(self) -> dict[str, str]:
        """Each step that names a compensation step, with it; {} for most workflows (which then pay
        nothing for compensation: the orchestrator looks no further)."""
        return {key: step.compensate_with for key, step in self.steps.items() if step.compensate_with}

    @cached_property
    def graph(self) -> dag.Graph:
        return dag.Graph.from_steps(self.data["steps"])

    @cached_property
    def sinks(self) -> tuple[str, ...]:
        return tuple(k for k in self.graph.order if not self.graph.dependents(k))


@lru_cache(maxsize=1024)
def for_version(version_id: int) -> Definition:
    """The parsed definition of a WorkflowVersion, cached per process: versions never change."""
    data, number = WorkflowVersion.objects.values_list("definition", "number").get(pk=version_id)
    return Definition(data, number=number)


@lru_cache(maxsize=4096)
def version_id(workflow_id, number: int) -> int:
    """The id of a workflow's version `number`, cached per process: a version, once written, is
    never rewritten or renumbered (only deleted with its workflow)."""
    return WorkflowVersion.objects.values_list("pk", flat=True).get(workflow_id=workflow_id, number=number)
