/** Pure graph code: a workflow's steps <-> React Flow nodes and edges, layout, cycles, ancestry.
 * A node's id is its step key; an edge from a conditional's branch carries that branch as its
 * sourceHandle and label, and becomes the dependency "key:branch". */
import type { Edge, Node } from "@xyflow/react";

import { layeredLayout, type Positions } from "./layered-layout";

import type { CodeEdge, CodeMoveKind, DefinitionEdge, StepDefinition, TaskStatus, VersionStep } from "./types";

/** The step a node draws: the designer's editable one, or a published version's (the monitor). */
export type FlowStep = StepDefinition | VersionStep;

export interface StepNodeData<S extends FlowStep = StepDefinition> extends Record<string, unknown> {
  step: S;
  /** Problems found before saving (missing field, bad template, cycle...). */
  errors?: string[];
  /** In the monitor: the status of the step's latest attempt, and how many attempts it took. */
  status?: TaskStatus;
  attempts?: number;
  /** How many visits of the step were tried (a code workflow's loops visit a step again). */
  visits?: number;
  /** In the monitor: this run uses an edited config for the step (edit and resume). */
  edited?: boolean;
  /** A replay's step whose latest attempt answered from a mock or the original's output (not run). */
  mocked?: boolean;
  /** In the monitor: a step that runs only as a compensation (another step's compensate_with names it). */
  compensation?: boolean;
  /** A code workflow's step: what the code says of it, shown read-only. */
  code?: { start: boolean; action: string; retry: Record<string, unknown> };
}

export type StepNode<S extends FlowStep = StepDefinition> = Node<StepNodeData<S>, "step">;
export type DependencyEdge = Edge<{ branch?: string; move?: CodeMoveKind; compensation?: boolean }>;

export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 64;

export function parseRef(ref: string): { key: string; branch?: string } {
  const at = ref.indexOf(":");
  return at < 0 ? { key: ref } : { key: ref.slice(0, at), branch: ref.slice(at + 1) };
}

export function edgeId(source: string, target: string, branch?: string | null): string {
  return branch ? `${source}:${branch}->${target}` : `${source}->${target}`;
}

/** The branch of a failure path: the dependency "key:failed" runs only when that step failed for good. */
export const FAILED_BRANCH = "failed";

export function dependencyEdge(source: string, target: string, branch?: string | null): DependencyEdge {
  if (branch === FAILED_BRANCH) {  // drawn from the node's red "failed" handle: red, dashed, "on failure"
    return {
      id: edgeId(source, target, branch), source, target, sourceHandle: FAILED_BRANCH, label: "on failure",
      className: "fp-edge-failure", data: { branch },
    };
  }
  return {
    id: edgeId(source, target, branch),
    source,
    target,
    sourceHandle: branch ?? null,
    label: branch ?? undefined,
    data: branch ? { branch } : {},
  };
}

/** The handle (above a node) a compensation link leaves from: to the step that undoes it (compensate_with). */
export const COMPENSATE_HANDLE = "compensate";

type Compensated = { key: string; compensate_with?: string | null };

/** The steps that run only as compensations: those some step's compensate_with names. */
export function compensationSteps(steps: Compensated[]): Set<string> {
  return new Set(steps.flatMap((s) => (s.compensate_with ? [s.compensate_with] : [])));
}

const compensationsOfNodes = new WeakMap<StepNode[], Set<string>>();

/** compensationSteps of a node list, computed once per list (each node asks: O(1) each, not O(nodes)). */
export function compensationStepsOf(nodes: StepNode[]): Set<string> {
  let found = compensationsOfNodes.get(nodes);
  if (!found) {
    found = compensationSteps(nodes.map((n) => n.data.step));
    compensationsOfNodes.set(nodes, found);
  }
  return found;
}

/** A compensation link per step naming one (docs/adr/0035): from the step to the step that undoes it,
 * dashed and violet, labelled "compensate". Not a dependency: drawn from the steps (never stored as an
 * edge, never saved as depends_on), set and cleared in the step's form. */
export function compensationEdges(steps: Compensated[]): DependencyEdge[] {
  const keys = new Set(steps.map((s) => s.key));
  return steps.flatMap((s) => {
    const target = s.compensate_with;
    if (!target || target === s.key || !keys.has(target)) return [];
    return [{
      id: `${s.key}~${COMPENSATE_HANDLE}->${target}`, source: s.key, target, sourceHandle: COMPENSATE_HANDLE,
      label: "compensate", className: "fp-edge-compensation", deletable: false, selectable: false, focusable: false,
      data: { compensation: true },
    }];
  });
}

export function stepsToFlow<S extends FlowStep>(steps: S[]): { nodes: StepNode<S>[]; edges: DependencyEdge[] } {
  const nodes: StepNode<S>[] = steps.map((step) => ({
    id: step.key,
    type: "step",
    position: { x: step.position?.x ?? 0, y: step.position?.y ?? 0 },
    data: { step },
  }));
  const keys = new Set(steps.map((step) => step.key));
  const edges: DependencyEdge[] = [];
  for (const step of steps) {
    for (const ref of step.depends_on ?? []) {
      const { key, branch } = parseRef(ref);
      if (keys.has(key)) edges.push(dependencyEdge(key, step.key, branch));
    }
  }
  return { nodes, edges };
}

/** The definition the API saves: each node's step, with its position and its incoming edges. */
export function flowToSteps(nodes: StepNode[], edges: DependencyEdge[]): StepDefinition[] {
  const incoming = new Map<string, string[]>();
  for (const edge of edges) {
    if (edge.data?.compensation) continue;  // a compensation link is the step's compensate_with, no dependency
    const branch = edge.data?.branch ?? edge.sourceHandle ?? undefined;
    const ref = branch ? `${edge.source}:${branch}` : edge.source;
    const list = incoming.get(edge.target) ?? [];
    if (!list.includes(ref)) list.push(ref);
    incoming.set(edge.target, list);
  }
  return nodes.map((node, index) => ({
    ...node.data.step,
    key: node.id,
    step_order: index,
    depends_on: incoming.get(node.id) ?? [],
    position: { x: Math.round(node.position.x), y: Math.round(node.position.y) },
  }));
}

/** A code step, from the API's `code.steps` or a code version's definition. */
export interface CodeFlowStep {
  key: string;
  name?: string;
  start?: boolean;
  action?: string;
  timeout_seconds?: number | null;
  retry?: Record<string, unknown>;
  compensate_with?: string;
}

/** The task type of a code step's rows (workflows/code/registry.py TASK_TYPE). */
export const CODE_TASK_TYPE = "code";

/** A code workflow's graph, read-only: a node per step (its id the step key, the start step marked)
 * and an edge per move labelled with its kind ("goto", "then", "timeout"; "sleep" loops on its step),
 * laid out. Edges are the API's {source, target} or a version's {from, to}; moves to unknown steps are dropped. */
export function codeToFlow(steps: CodeFlowStep[], moves: (CodeEdge | DefinitionEdge)[]): { nodes: StepNode[]; edges: DependencyEdge[] } {
  const nodes: StepNode[] = steps.map((s, index) => ({
    id: s.key,
    type: "step",
    position: { x: 0, y: 0 },
    className: s.start ? "fp-start-step" : undefined,
    data: {
      step: {
        key: s.key, name: s.name || s.key, task_type: CODE_TASK_TYPE, config: {}, depends_on: [], step_order: index,
        timeout_seconds: s.timeout_seconds ?? null, when: "", position: { x: 0, y: 0 },
        ...(s.compensate_with ? { compensate_with: s.compensate_with } : {}),
      },
      code: { start: !!s.start, action: s.action ?? "", retry: s.retry ?? {} },
    },
  }));
  const keys = new Set(steps.map((s) => s.key));
  const edges: DependencyEdge[] = [];
  for (const move of moves) {
    const source = "source" in move ? move.source : move.from;
    const target = "source" in move ? move.target : move.to;
    const id = `${source}-${move.kind}->${target}`;
    if (!keys.has(source) || !keys.has(target) || edges.some((e) => e.id === id)) continue;
    const type = source === target ? "loop" : undefined; // drawn by components/LoopEdge
    edges.push({ id, source, target, type, label: move.kind, className: `fp-move-${move.kind}`, data: { move: move.kind } });
  }
  // A sleep's self-loop places nothing: laid out without it.
  return { nodes: layout(nodes, edges.filter((e) => e.source !== e.target)), edges };
}

/** The boxes and links the layout places (plain data: what the layout worker is sent). */
export function layoutInput(nodes: Node[], edges: Edge[]) {
  return {
    boxes: nodes.map((node) => ({
      id: node.id, width: node.measured?.width ?? NODE_WIDTH, height: node.measured?.height ?? NODE_HEIGHT,
    })),
    links: edges.map((edge) => ({ source: edge.source, target: edge.target })),
  };
}

export const LAYOUT_OPTIONS = { nodeGap: 40, layerGap: 90, margin: 20 } as const;

/** The nodes moved to `positions` (those it names); new nodes, the input left untouched. */
export function placeNodes<T extends Node>(nodes: T[], positions: Positions): T[] {
  return nodes.map((node) => (positions[node.id] ? { ...node, position: positions[node.id] } : node));
}

/** Left-to-right layered layout (layered-layout.ts, iterative: any size); returns new nodes, leaving the input untouched. */
export function layout<T extends Node>(nodes: T[], edges: Edge[], direction: "LR" | "TB" = "LR"): T[] {
  const { boxes, links } = layoutInput(nodes, edges);
  return placeNodes(nodes, layeredLayout(boxes, links, { ...LAYOUT_OPTIONS, direction }));
}

/** A cycle among the steps' dependencies, as the keys along it (first repeated last), or null.
 * Iterative (a 10,000-step chain is fine). */
export function findCycle(steps: Pick<StepDefinition, "key" | "depends_on">[]): string[] | null {
  const upstream = new Map(steps.map((step) => [step.key, (step.depends_on ?? []).map((ref) => parseRef(ref).key)]));
  const state = new Map<string, "visiting" | "done">();
  for (const step of steps) {
    if (state.has(step.key)) continue;
    const path: string[] = [step.key];
    const cursor: number[] = [0];
    state.set(step.key, "visiting");
    while (path.length) {
      const key = path[path.length - 1];
      const parents = upstream.get(key) ?? [];
      const at = cursor[cursor.length - 1];
      if (at < parents.length) {
        cursor[cursor.length - 1] = at + 1;
        const parent = parents[at];
        if (!upstream.has(parent) || state.get(parent) === "done") continue;
        if (state.get(parent) === "visiting") return [...path.slice(path.indexOf(parent)), parent].reverse();
        state.set(parent, "visiting");
        path.push(parent);
        cursor.push(0);
      } else {
        state.set(key, "done");
        path.pop();
        cursor.pop();
      }
    }
  }
  return null;
}

/** Every step `key` depends on, directly or not (the steps whose outputs its templates may use). */
export function ancestors(steps: Pick<StepDefinition, "key" | "depends_on">[], key: string): string[] {
  return ancestryOf(steps).of(key);
}

/** A graph's ancestry, computed lazily: the upstream map once, then each key's ancestors when first
 * asked (cached). Made once per graph (the designer keeps one per revision), so selecting a step costs
 * that step's walk, not every step's. */
export interface Ancestry {
  of(key: string): string[];
}

export function ancestryOf(steps: Pick<StepDefinition, "key" | "depends_on">[]): Ancestry {
  let upstream: Map<string, string[]> | null = null;
  const order = new Map<string, number>();
  const cache = new Map<string, string[]>();
  return {
    of(key) {
      const known = cache.get(key);
      if (known) return known;
      if (!upstream) {
        upstream = new Map(steps.map((step) => [step.key, (step.depends_on ?? []).map((ref) => parseRef(ref).key)]));
        steps.forEach((step, i) => order.set(step.key, i));
      }
      const seen = new Set<string>();
      const stack = [...(upstream.get(key) ?? [])];
      while (stack.length) {
        const next = stack.pop()!;
        if (seen.has(next) || next === key) continue;
        seen.add(next);
        for (const parent of upstream.get(next) ?? []) stack.push(parent);
      }
      // In definition order.
      const found = [...seen].filter((k) => order.has(k)).sort((a, b) => order.get(a)! - order.get(b)!);
      cache.set(key, found);
      return found;
    },
  };
}

const graphAncestries = new WeakMap<DependencyEdge[], { nodes: StepNode<FlowStep>[]; ancestry: Ancestry }>();

/** The ancestry of the designer's graph, cached per graph (its edges array and nodes: a change of
 * either is a new graph; a selection keeps the edges), so a selection reuses it. */
export function graphAncestry(nodes: StepNode<FlowStep>[], edges: DependencyEdge[]): Ancestry {
  const cached = graphAncestries.get(edges);
  if (cached && (cached.nodes === nodes || sameKeys(cached.nodes, nodes))) return cached.ancestry;
  const incoming = new Map<string, string[]>();
  for (const edge of edges) {
    const list = incoming.get(edge.target);
    if (list) list.push(edge.source);
    else incoming.set(edge.target, [edge.source]);
  }
  const ancestry = ancestryOf(nodes.map((node) => ({ key: node.id, depends_on: incoming.get(node.id) ?? [] })));
  graphAncestries.set(edges, { nodes, ancestry });
  return ancestry;
}

function sameKeys(a: { id: string }[], b: { id: string }[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i].id !== b[i].id) return false;
  return true;
}

/** A step key like `base`, `base_2`, ... not among `taken`, made of the allowed characters. */
export function uniqueKey(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  let stem = base.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "") || "step";
  if (/^[0-9]/.test(stem)) stem = `step_${stem}`;
  if (!used.has(stem)) return stem;
  for (let n = 2; ; n += 1) if (!used.has(`${stem}_${n}`)) return `${stem}_${n}`;
}
