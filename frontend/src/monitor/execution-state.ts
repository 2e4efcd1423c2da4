/** Pure reading of an execution's attempts: each step's rows in order, what status a step shows in the
 * monitor (its latest attempt's: the row the server marks `is_latest`), and the monitor's graph (the
 * version's steps coloured by those statuses). Which attempt is the latest is the server's rule, not ours. */
import { codeToFlow, COMPENSATE_HANDLE, compensationEdges, compensationSteps, FAILED_BRANCH, layout, NODE_HEIGHT, NODE_WIDTH, stepsToFlow, type DependencyEdge, type FlowStep, type StepNode } from "@/lib/graph";
import type { DefinitionEdge, TaskExecution, TaskStatus, VersionStep } from "@/lib/types";

/** Statuses in which a step (or an execution) may still change on its own. */
export const ACTIVE_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set(["pending", "queued", "running", "waiting", "retrying"]);

export interface StepSummary {
  /** Every row of the step (attempts and visits), oldest first. */
  attempts: TaskExecution[];
  /** How many of those rows were tried: queued or further (not a pending placeholder, nor skipped). */
  tried: number;
  /** How many visits those tried rows belong to (a code workflow's loops visit a step again). */
  visits: number;
  /** The row the server marks as the step's current attempt. */
  latest: TaskExecution;
  status: TaskStatus;
}

/** Orders a step's rows for display: by visit, then attempt number, then creation. */
function compareAttempts(a: TaskExecution, b: TaskExecution): number {
  return (a.visit ?? 0) - (b.visit ?? 0)
    || a.attempt_number - b.attempt_number
    || Date.parse(a.created_at) - Date.parse(b.created_at);
}

/** The rows of each step, oldest first, keyed by step key. */
export function attemptsByStep(tasks: TaskExecution[]): Map<string, TaskExecution[]> {
  const byStep = new Map<string, TaskExecution[]>();
  for (const task of tasks) {
    const list = byStep.get(task.step_key) ?? [];
    list.push(task);
    byStep.set(task.step_key, list);
  }
  for (const list of byStep.values()) list.sort(compareAttempts);
  return byStep;
}

/** A row that reached a worker's queue (or was scheduled as a retry), not a placeholder or a skip. */
export function wasTried(task: TaskExecution): boolean {
  if (task.status === "pending" || task.status === "skipped") return false;
  if (task.status === "cancelled") return Boolean(task.queued_at || task.started_at);
  return true;
}

/** Per step key: its attempts, the latest one (as the server marks it) and the status it shows (the
 * latest attempt's). A step whose rows carry no mark (none from the server) is left out: not reached. */
export function summarizeSteps(tasks: TaskExecution[]): Map<string, StepSummary> {
  const summaries = new Map<string, StepSummary>();
  for (const [key, attempts] of attemptsByStep(tasks)) {
    const latest = attempts.find((task) => task.is_latest);
    if (!latest) continue;
    const tried = attempts.filter(wasTried);
    const visits = new Set(tried.map((task) => task.visit ?? 1)).size;
    summaries.set(key, { attempts, latest, status: latest.status, tried: tried.length, visits });
  }
  return summaries;
}

/** The status a step shows: its latest attempt's, or pending when it has not been reached. */
export function stepStatus(summaries: Map<string, StepSummary>, key: string): TaskStatus {
  return summaries.get(key)?.status ?? "pending";
}

/** True when every step sits at the origin: a definition saved without positions (e.g. from Python). */
export function needsLayout(steps: Pick<VersionStep, "position">[]): boolean {
  return steps.every((step) => !step.position || (step.position.x === 0 && step.position.y === 0));
}

/** A node of the monitor's graph: a version's step, or (a code workflow's, from codeToFlow) one made up
 * from its code step. */
export type MonitorNode = StepNode<FlowStep>;

export interface MonitorFlow {
  nodes: MonitorNode[];
  edges: DependencyEdge[];
}

/** The version's graph, laid out when it has no positions (a code workflow's version, with `edges`: its
 * moves, always laid out), without statuses: computed once per version, not on every live event. */
export function monitorLayout(steps: VersionStep[], moves?: DefinitionEdge[]): MonitorFlow {
  const flow: { nodes: MonitorNode[]; edges: DependencyEdge[] } = moves ? codeToFlow(steps, moves) : stepsToFlow(steps);
  const placed = !moves && needsLayout(steps) ? layout(flow.nodes, flow.edges) : flow.nodes;
  const compensations = compensationSteps(steps);
  const nodes = placed.map((node) => ({
    ...node,
    type: "step" as const,
    // Fixed size: the minimap (and fitView) know it before the nodes are measured.
    width: NODE_WIDTH,
    height: NODE_HEIGHT,
    draggable: false,
    connectable: false,
    data: { ...node.data, compensation: compensations.has(node.id) },
  }));
  return { nodes, edges: [...flow.edges, ...compensationEdges(steps)] };
}

/** What a node shows of the run: its step's status, attempt count and visits, and whether a replay mocked it. */
export interface NodeRunState {
  status: TaskStatus;
  attempts: number;
  visits: number;
  mocked: boolean;
}

export function nodeRunState(summaries: Map<string, StepSummary>, key: string): NodeRunState {
  const summary = summaries.get(key);
  return { status: stepStatus(summaries, key), attempts: summary?.tried ?? 0, visits: summary?.visits ?? 0,
           mocked: summary?.latest?.mocked ?? false };
}

/** What an edge shows of the run: animated into a step at work, marked when the run took it. */
export function edgeRunState(summaries: Map<string, StepSummary>, edge: DependencyEdge): { animated: boolean; className: string | undefined } {
  const source = stepStatus(summaries, edge.source);
  const target = stepStatus(summaries, edge.target);
  return {
    // The data is flowing along the edges into steps at work.
    animated: target === "running" || target === "queued",
    className: [edge.className, (edge.data?.branch === FAILED_BRANCH ? source === "failed" : source === "completed")
      && target !== "pending" && target !== "skipped" && "monitor-edge-taken"]
      .filter(Boolean).join(" ") || undefined,
  };
}

/** Where an edge leaves its node in the read-only monitor: one source handle per node, the branch staying
 * on the label; a failure path keeps its own (the node's red "failed" handle), a compensation link too
 * (the handle above). */
export function sourceHandleOf(edge: DependencyEdge): string | null {
  return edge.data?.compensation ? COMPENSATE_HANDLE : edge.data?.branch === FAILED_BRANCH ? FAILED_BRANCH : null;
}

/** A laid-out graph coloured by the run. */
export function colourFlow(base: MonitorFlow, summaries: Map<string, StepSummary>): MonitorFlow {
  const nodes = base.nodes.map((node) => ({ ...node, data: { ...node.data, ...nodeRunState(summaries, node.id) } }));
  const edges = base.edges.map((edge) => ({
    ...edge,
    sourceHandle: sourceHandleOf(edge),
    ...edgeRunState(summaries, edge),
  }));
  return { nodes, edges };
}

/** The version's graph laid out and coloured by the run's attempts. */
export function monitorFlow(steps: VersionStep[], tasks: TaskExecution[], moves?: DefinitionEdge[]): MonitorFlow {
  return colourFlow(monitorLayout(steps, moves), summarizeSteps(tasks));
}

/** How many of the steps are done (completed or skipped, or failed with the failure handled: the run's
 * `handled_failures`), for the header. */
export function progress(steps: Pick<VersionStep, "key">[], tasks: TaskExecution[], handled: string[] = []): { done: number; total: number } {
  const summaries = summarizeSteps(tasks);
  const done = steps.filter((step) => {
    const status = stepStatus(summaries, step.key);
    return status === "completed" || status === "skipped" || (status === "failed" && handled.includes(step.key));
  }).length;
  return { done, total: steps.length };
}
