/** The designer's state, one store per open workflow (createDesignerStore): the graph (React Flow
 * nodes and edges; a node's id is its step key), the step types, the server's problems on each step,
 * undo/redo history of graph snapshots, the clipboard, read-only viewing of an old version (or of a
 * workflow defined in code, which is never edited here), and whether there are unsaved changes. Components subscribe to slices with selectors. */
import { applyEdgeChanges, applyNodeChanges, type Connection, type EdgeChange, type NodeChange, type XYPosition } from "@xyflow/react";
import { createStore } from "zustand/vanilla";

import {
  ancestors, dependencyEdge, edgeId, flowToSteps, layout, placeNodes, stepsToFlow, uniqueKey,
  type DependencyEdge, type StepNode,
} from "@/lib/graph";
import type { Positions } from "@/lib/layered-layout";
import { isCurrentLayout, type LayoutTicket } from "@/lib/layout-client";
import { defaultsFor, humanize } from "@/lib/schema-form";
import { renameStepReferences } from "@/lib/templates";
import {
  DRAFT_TRIGGER, isTriggerNodeId, triggerNodes, type Trigger, type TriggerKind, type TriggerNode,
} from "@/lib/triggers";
import type { Limits, PinnedData, StepDefinition, StepType } from "@/lib/types";
import { keyProblem, type Issue, type IssueMap } from "@/lib/validation";

export interface Snapshot {
  nodes: StepNode[];
  edges: DependencyEdge[];
  /** Identifies the definition; equal to savedRevision when there is nothing to save. */
  revision: number;
}

export type Refusal = { ok: true } | { ok: false; reason: string };

const HISTORY_LIMIT = 100;
const COALESCE_MS = 1200;
const PASTE_OFFSET = 40;
/** A workflow without positions up to this many steps is laid out at once, in place (a few ms); a
 * bigger one in the layout worker (placing), the canvas saying "Laying out…" meanwhile. */
export const SYNC_LAYOUT_MAX_STEPS = 150;

let revisions = 0;
const nextRevision = () => ++revisions;

export interface DesignerState {
  nodes: StepNode[];
  edges: DependencyEdge[];
  name: string;
  description: string;
  stepTypes: Record<string, StepType>;
  /** The server's bounds (GET /api/v1/limits/): here for the step key's rule, checked on a rename. */
  limits: Limits;
  /** Problems by step key, as shown: the server's, each step's array kept while it does not change. */
  issues: IssueMap;
  /** The server's answer by step key: to the last check (POST workflows/validate/) or save (a 400). */
  serverIssues: IssueMap;
  /** The revision the server's last check answered for (null before any): the shown problems are
   * those of the current graph when it equals `revision`. */
  validatedRevision: number | null;
  /** Server problems that name no step. */
  generalErrors: string[];
  /** Set while the graph shown has no positions yet and waits for the layout worker's (a workflow
   * saved without positions, bigger than SYNC_LAYOUT_MAX_STEPS): what the placement is for. */
  placing: LayoutTicket | null;
  /** The user's Auto-layout running in the worker: what it was asked for. */
  autoLayoutPending: LayoutTicket | null;
  /** The step shown in the editor: the only selected node, if exactly one is. */
  selected: string | null;
  past: Snapshot[];
  future: Snapshot[];
  clipboard: { nodes: StepNode[]; edges: DependencyEdge[]; pastes: number } | null;
  revision: number;
  savedRevision: number;
  /** Set while an old version is shown read-only; `stash` keeps the graph being edited. A workflow
   * defined in code is always viewed (code: true), with nothing stashed to go back to. */
  viewing: { version: number; code?: boolean } | null;
  stash: Snapshot | null;
  lastEdit: { tag: string; at: number } | null;
  /** The workflow's triggers (the triggers API's; never part of the definition, never undone). */
  triggers: Trigger[];
  /** Their start nodes, drawn left of the steps; the draft's when a trigger is being added. */
  triggerNodes: TriggerNode[];
  triggerDraft: { kind: TriggerKind; at?: XYPosition } | null;
  /** The trigger node whose panel is open (its node id), when no step is. */
  selectedTrigger: string | null;
  /** The workflow's pinned data (the pinned-data API's; never part of the definition, never undone). */
  pins: PinnedData | null;
  /** "Test this step"'s sample input as typed: kept while another step is selected. */
  testInput: string | null;

  load(steps: StepDefinition[], meta?: { name?: string; description?: string }): void;
  setStepTypes(types: StepType[]): void;
  setLimits(limits: Limits): void;
  setName(name: string): void;
  setDescription(description: string): void;
  onNodesChange(changes: NodeChange<StepNode>[]): void;
  onEdgesChange(changes: EdgeChange<DependencyEdge>[]): void;
  beginDrag(): void;
  connect(connection: Connection | { source: string; target: string; sourceHandle?: string | null }): Refusal;
  addStep(type: StepType, position: XYPosition): string;
  updateStep(key: string, patch: Partial<StepDefinition>, tag?: string): void;
  renameStep(from: string, to: string): Refusal;
  select(keys: string[]): void;
  deleteSelected(): number;
  copySelected(): number;
  paste(): string[];
  undo(): void;
  redo(): void;
  autoLayout(): void;
  /** What a layout asked now is for (isCurrentLayout compares it with the answer's). */
  layoutTicket(): LayoutTicket;
  /** Auto-layout in the worker is running (for `ticket`), or ended (null). */
  setAutoLayoutPending(ticket: LayoutTicket | null): void;
  /** Apply a worker's positions: the first placement (not an edit: nothing to save for the user) or the
   * user's Auto-layout (one undoable edit). False, and nothing changed, when the graph changed since
   * `ticket` (a stale answer). */
  applyLayout(positions: Positions, ticket: LayoutTicket, kind: "place" | "auto"): boolean;
  markSaved(revision: number): void;
  /** The server's problems: by step and general; `revision` when they answer a check of that graph. */
  setServerErrors(byStep: IssueMap, general: string[], revision?: number): void;
  viewVersion(version: number, steps: StepDefinition[]): void;
  /** Show a code workflow's graph (codeToFlow), read-only for good. */
  viewCode(version: number, graph: { nodes: StepNode[]; edges: DependencyEdge[] }): void;
  exitView(): void;
  restoreVersion(steps: StepDefinition[]): void;
  steps(): StepDefinition[];
  setTriggers(triggers: Trigger[]): void;
  /** Start adding a trigger: a draft node (at `at`, or placed with the others), its panel open. */
  addTriggerDraft(kind: TriggerKind, at?: XYPosition): void;
  /** The draft was created (as `created`, selected now) or abandoned. */
  endTriggerDraft(created?: Trigger): void;
  selectTrigger(nodeId: string | null): void;
  setPins(pins: PinnedData | null): void;
  setTestInput(text: string | null): void;
}

/** Keep the previous array of a step whose problems did not change, so its node does not re-render. */
function mergeIssues(previous: IssueMap, server: IssueMap): IssueMap {
  const next: IssueMap = {};
  for (const key of Object.keys(server)) {
    const list: Issue[] = server[key];
    const old = previous[key];
    const same = old && old.length === list.length &&
      old.every((issue, i) => issue.field === list[i].field && issue.message === list[i].message && issue.level === list[i].level);
    next[key] = same ? old : list;
  }
  return next;
}

const readOnlyReason = (viewing: { code?: boolean }) =>
  (viewing.code ? "This workflow is defined in code: edit it in Python." : "This is an old version, shown read-only.");

const UNCHECKED = { serverIssues: {}, generalErrors: [], validatedRevision: null } satisfies Partial<DesignerState>;

const unplacedNodes = (nodes: StepNode[]) =>
  nodes.length > SYNC_LAYOUT_MAX_STEPS && nodes.every((n) => !n.position.x && !n.position.y);

const deselect = (nodes: StepNode[]) => nodes.map((n) => (n.selected ? { ...n, selected: false } : n));

export function createDesignerStore(initial: { steps?: StepDefinition[]; stepTypes?: StepType[]; limits?: Limits } = {}) {
  const store = createStore<DesignerState>()((set, get) => {
    /** Recompute the problems after the definition changed. */
    const revalidate = (state: Pick<DesignerState, "issues" | "serverIssues" | "viewing">) =>
      state.viewing?.code ? {} : mergeIssues(state.issues, state.serverIssues);

    const snapshot = (): Snapshot => ({ nodes: get().nodes, edges: get().edges, revision: get().revision });

    /** Record the current graph for undo before a change (unless the same edit goes on: typing). */
    const remember = (tag?: string) => {
      const { past, lastEdit } = get();
      const now = Date.now();
      if (tag && lastEdit && lastEdit.tag === tag && now - lastEdit.at < COALESCE_MS) {
        set({ lastEdit: { tag, at: now } });
        return;
      }
      set({ past: [...past.slice(-(HISTORY_LIMIT - 1)), snapshot()], future: [], lastEdit: tag ? { tag, at: now } : null });
    };

    /** Apply a new graph: a new revision, problems recomputed. */
    const commit = (nodes: StepNode[], edges: DependencyEdge[], extra: Partial<DesignerState> = {}) => {
      const state = get();
      set({
        nodes, edges, revision: nextRevision(), ...extra,
        issues: revalidate({ ...state, ...extra }),
      });
    };

    const selectedOf = (nodes: StepNode[]) => {
      let only: string | null = null;
      for (const node of nodes) {
        if (!node.selected) continue;
        if (only !== null) return null;
        only = node.id;
      }
      return only;
    };

    /** No trigger selected (a step is now); the draft goes with its panel. */
    const unselectTriggers = (): Partial<DesignerState> => {
      const { triggerNodes: current, triggerDraft, selectedTrigger } = get();
      if (!selectedTrigger && !current.some((n) => n.selected)) return {};
      const kept = triggerDraft ? current.filter((n) => n.id !== DRAFT_TRIGGER) : current;
      return { selectedTrigger: null, triggerDraft: null, triggerNodes: kept.map((n) => (n.selected ? { ...n, selected: false } : n)) };
    };

    /** The canvas's changes to trigger nodes: moved (not saved anywhere), measured, (un)selected. */
    const applyTriggerChanges = (changes: NodeChange<StepNode>[]) => {
      const allowed = changes.filter((c) => c.type !== "remove") as unknown as NodeChange<TriggerNode>[];
      const next = applyNodeChanges(allowed, get().triggerNodes);
      const patch: Partial<DesignerState> = { triggerNodes: next };
      if (allowed.some((c) => c.type === "select")) {
        const chosen = next.filter((n) => n.selected);
        patch.selectedTrigger = chosen.length === 1 ? chosen[0].id : null;
        if (chosen.length && get().triggerDraft && !chosen.some((n) => n.id === DRAFT_TRIGGER)) {
          patch.triggerDraft = null;
          patch.triggerNodes = next.filter((n) => n.id !== DRAFT_TRIGGER);
        }
      }
      set(patch);
    };

    /** The graph of `steps`; one without positions laid out now when small, else left to the worker
     * (placing; its ticket is completed by the caller's revision). */
    const withGraph = (steps: StepDefinition[]) => {
      const { nodes, edges } = stepsToFlow(steps);
      const unplaced = steps.length > 1 && steps.every((s) => !s.position?.x && !s.position?.y);
      if (unplaced && steps.length > SYNC_LAYOUT_MAX_STEPS) return { nodes, edges, unplaced: true };
      return { nodes: unplaced ? layout(nodes, edges) : nodes, edges, unplaced: false };
    };
    const ticketOf = (state: Pick<DesignerState, "revision" | "viewing">): LayoutTicket =>
      ({ revision: state.revision, viewing: state.viewing?.version ?? null });

    /** The steps moved to new places as one undoable edit (Auto-layout); only shown while viewing. */
    const placeAll = (placed: StepNode[]) => {
      const { edges, viewing } = get();
      if (viewing) {
        set({ nodes: placed });
        return;
      }
      remember();
      commit(placed, edges);
      // The triggers line up again left of the steps that start a run.
      const { triggers, triggerDraft, triggerNodes: old } = get();
      const byId = new Map(old.map((n) => [n.id, n]));
      const lined = triggerNodes(triggers, triggerDraft?.kind ?? null, [], get().nodes, edges)
        .map((n) => ({ ...n, selected: byId.get(n.id)?.selected, measured: byId.get(n.id)?.measured }));
      set({ triggerNodes: lined });
    };

    const { unplaced: startUnplaced, ...start } = withGraph(initial.steps ?? []);
    const stepTypes = Object.fromEntries((initial.stepTypes ?? []).map((t) => [t.name, t]));
    const limits = initial.limits ?? {};
    const revision = nextRevision();

    return {
      ...start,
      placing: startUnplaced ? { revision, viewing: null } : null,
      autoLayoutPending: null,
      name: "",
      description: "",
      stepTypes,
      limits,
      issues: {},
      serverIssues: {},
      validatedRevision: null,
      generalErrors: [],
      selected: null,
      past: [],
      future: [],
      clipboard: null,
      revision,
      savedRevision: revision,
      viewing: null,
      stash: null,
      lastEdit: null,
      triggers: [],
      triggerNodes: [],
      triggerDraft: null,
      selectedTrigger: null,
      pins: null,
      testInput: null,

      setPins(pins) {
        set({ pins });
      },

      setTestInput(testInput) {
        set({ testInput });
      },

      load(steps, meta = {}) {
        const { unplaced, ...graph } = withGraph(steps);
        const rev = nextRevision();
        set({
          ...graph, placing: unplaced ? { revision: rev, viewing: null } : null, autoLayoutPending: null, name: meta.name ?? get().name, description: meta.description ?? get().description,
          revision: rev, savedRevision: rev, past: [], future: [], selected: null, viewing: null, stash: null,
          serverIssues: {}, generalErrors: [], lastEdit: null,
        });
        set({ issues: revalidate(get()) });
      },

      setStepTypes(types) {
        set({ stepTypes: Object.fromEntries(types.map((t) => [t.name, t])) });
        set({ issues: revalidate(get()) });
      },

      setLimits(limits) {
        set({ limits });
        set({ issues: revalidate(get()) });
      },

      setName(name) {
        set({ name, revision: nextRevision() });
      },

      setDescription(description) {
        set({ description, revision: nextRevision() });
      },

      onNodesChange(all) {
        const forTriggers = all.filter((c) => "id" in c && isTriggerNodeId(c.id));
        const changes = forTriggers.length ? all.filter((c) => !("id" in c && isTriggerNodeId(c.id))) : all;
        if (forTriggers.length) applyTriggerChanges(forTriggers);
        const { nodes, viewing } = get();
        // Removal goes through deleteSelected (one undo step); dragging is recorded by beginDrag.
        const allowed = changes.filter((c) => c.type !== "remove" && !(viewing && c.type === "position"));
        if (!allowed.length) return;
        const next = applyNodeChanges(allowed, nodes);
        const patch: Partial<DesignerState> = { nodes: next };
        if (allowed.some((c) => c.type === "select")) {
          patch.selected = selectedOf(next);
          if (next.some((n) => n.selected)) Object.assign(patch, unselectTriggers());
        }
        // A drag is a change of the definition (positions are saved) once it ends.
        if (allowed.some((c) => c.type === "position" && !c.dragging)) patch.revision = nextRevision();
        set(patch);
      },

      onEdgesChange(changes) {
        const allowed = changes.filter((c) => c.type === "select");
        if (allowed.length) set({ edges: applyEdgeChanges(allowed, get().edges) });
      },

      beginDrag() {
        if (!get().viewing) remember();
      },

      connect({ source, target, sourceHandle }) {
        const { nodes, edges, viewing } = get();
        if (viewing) return { ok: false, reason: readOnlyReason(viewing) };
        if (!source || !target) return { ok: false, reason: "Connect two steps." };
        if (source === target) return { ok: false, reason: "A step cannot depend on itself." };
        const branch = sourceHandle || null;
        const id = edgeId(source, target, branch);
        if (edges.some((e) => e.id === id)) return { ok: false, reason: "These steps are already connected." };
        const steps = flowToSteps(nodes, edges);
        if (ancestors(steps, source).includes(target)) {
          return { ok: false, reason: `Connecting ${source} → ${target} would make a cycle: ${target} already runs before ${source}.` };
        }
        remember();
        commit(nodes, [...edges, dependencyEdge(source, target, branch)]);
        return { ok: true };
      },

      addStep(type, position) {
        const { nodes, edges, viewing } = get();
        if (viewing) return "";
        const key = uniqueKey(type.name, nodes.map((n) => n.id));
        const step: StepDefinition = {
          // The schema's defaults, never the type's example: an example names hosts and credentials
          // that are not the user's ("Test this step" would call them).
          key, name: humanize(type.name), task_type: type.name, config: defaultsFor(type.config_schema),
          depends_on: [], step_order: nodes.length, when: "", position,
        };
        remember();
        const node: StepNode = { id: key, type: "step", position, data: { step }, selected: true };
        commit([...deselect(nodes), node], edges, { selected: key, ...unselectTriggers() });
        return key;
      },

      updateStep(key, patch, tag) {
        const { nodes, edges, viewing, serverIssues } = get();
        if (viewing) return;
        const index = nodes.findIndex((n) => n.id === key);
        if (index < 0) return;
        remember(tag ? `${key}:${tag}` : undefined);
        const node = nodes[index];
        const next = nodes.slice();
        next[index] = { ...node, data: { ...node.data, step: { ...node.data.step, ...patch } } };
        // The server's complaint about this step may be answered by the edit: show it no more.
        const server = serverIssues[key] ? { ...serverIssues, [key]: [] } : serverIssues;
        commit(next, edges, { serverIssues: server });
      },

      renameStep(from, to) {
        const { nodes, edges, viewing } = get();
        if (viewing) return { ok: false, reason: readOnlyReason(viewing) };
        if (from === to) return { ok: true };
        const problem = keyProblem(to, get().limits);
        if (problem) return { ok: false, reason: `Key: ${problem}.` };
        if (nodes.some((n) => n.id === to)) return { ok: false, reason: `Another step has the key "${to}".` };
        remember();
        const nextNodes = nodes.map((node) => {
          const step = node.id === from ? { ...node.data.step, key: to } : node.data.step;
          const config = renameStepReferences(step.config, from, to);
          const when = step.when ? renameStepReferences(step.when, from, to) : step.when;
          const compensate = step.compensate_with === from ? { compensate_with: to } : {};
          const changed = node.id === from || config !== step.config || step.compensate_with === from;
          if (!changed && when === step.when) return node;
          return { ...node, id: node.id === from ? to : node.id, data: { ...node.data, step: { ...step, config, when, ...compensate } } };
        });
        const nextEdges = edges.map((edge) => {
          if (edge.source !== from && edge.target !== from) return edge;
          const source = edge.source === from ? to : edge.source;
          const target = edge.target === from ? to : edge.target;
          return { ...dependencyEdge(source, target, edge.data?.branch ?? edge.sourceHandle), selected: edge.selected };
        });
        const selected = get().selected === from ? to : get().selected;
        commit(nextNodes, nextEdges, { selected });
        return { ok: true };
      },

      select(keys) {
        const wanted = new Set(keys);
        const nodes = get().nodes.map((n) => (!!n.selected === wanted.has(n.id) ? n : { ...n, selected: wanted.has(n.id) }));
        set({ nodes, selected: keys.length === 1 ? keys[0] : null, ...(keys.length ? unselectTriggers() : {}) });
      },

      setTriggers(triggers) {
        const { triggerDraft, triggerNodes: previous, nodes, edges, selectedTrigger } = get();
        const next = triggerNodes(triggers, triggerDraft?.kind ?? null, previous, nodes, edges, triggerDraft?.at);
        const shown = selectedTrigger && next.some((n) => n.id === selectedTrigger) ? selectedTrigger : null;
        set({ triggers, triggerNodes: next, selectedTrigger: shown });
      },

      addTriggerDraft(kind, at) {
        const { triggers, triggerNodes: previous, nodes, edges } = get();
        const kept = previous.filter((n) => n.id !== DRAFT_TRIGGER);
        const next = triggerNodes(triggers, kind, kept, nodes, edges, at)
          .map((n) => ({ ...n, selected: n.id === DRAFT_TRIGGER }));
        set({ triggerDraft: { kind, at }, triggerNodes: next, selectedTrigger: DRAFT_TRIGGER, nodes: deselect(nodes), selected: null });
      },

      endTriggerDraft(created) {
        const { triggers, triggerNodes: previous, nodes, edges } = get();
        const draft = previous.find((n) => n.id === DRAFT_TRIGGER);
        const list = created ? [...triggers.filter((t) => t.id !== created.id), created] : triggers;
        // The created trigger takes the draft's place on the canvas.
        const kept = previous.filter((n) => n.id !== DRAFT_TRIGGER)
          .concat(created && draft ? [{ ...draft, id: `trigger:${created.id}` }] : []);
        set({ triggerDraft: null, triggers: list });
        const next = triggerNodes(list, null, kept, nodes, edges);
        const selectedTrigger = created ? `trigger:${created.id}` : null;
        set({ triggerNodes: next.map((n) => ({ ...n, selected: n.id === selectedTrigger })), selectedTrigger });
      },

      selectTrigger(nodeId) {
        const { triggerNodes: current, nodes } = get();
        set({
          triggerNodes: current.map((n) => (!!n.selected === (n.id === nodeId) ? n : { ...n, selected: n.id === nodeId })),
          selectedTrigger: nodeId, ...(nodeId ? { nodes: deselect(nodes), selected: null } : {}),
        });
      },

      deleteSelected() {
        const { nodes, edges, viewing } = get();
        if (viewing) return 0;
        const gone = new Set(nodes.filter((n) => n.selected).map((n) => n.id));
        const keptEdges = edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target));
        if (!gone.size && keptEdges.length === edges.length) return 0;
        remember();
        // A step whose compensation step is deleted has none any more.
        const kept = nodes.filter((n) => !gone.has(n.id)).map((n) => (n.data.step.compensate_with && gone.has(n.data.step.compensate_with)
          ? { ...n, data: { ...n.data, step: { ...n.data.step, compensate_with: "" } } } : n));
        commit(kept, keptEdges, { selected: null });
        return gone.size;
      },

      copySelected() {
        const { nodes, edges } = get();
        const chosen = nodes.filter((n) => n.selected);
        if (!chosen.length) return 0;
        const keys = new Set(chosen.map((n) => n.id));
        set({
          clipboard: {
            nodes: structuredClone(chosen.map(({ id, position, data }) => ({ id, type: "step" as const, position, data }))),
            edges: edges.filter((e) => keys.has(e.source) && keys.has(e.target)),
            pastes: 0,
          },
        });
        return chosen.length;
      },

      paste() {
        const { clipboard, nodes, edges, viewing } = get();
        if (!clipboard || viewing) return [];
        const taken = new Set(nodes.map((n) => n.id));
        const renamed = new Map<string, string>();
        for (const node of clipboard.nodes) {
          const key = uniqueKey(node.id, taken);
          taken.add(key);
          renamed.set(node.id, key);
        }
        const offset = PASTE_OFFSET * (clipboard.pastes + 1);
        const pasted: StepNode[] = clipboard.nodes.map((node) => {
          const key = renamed.get(node.id)!;
          let step: StepDefinition = structuredClone(node.data.step);
          for (const [from, to] of renamed) {
            step = { ...step, config: renameStepReferences(step.config, from, to), when: step.when && renameStepReferences(step.when, from, to) };
          }
          const position = { x: node.position.x + offset, y: node.position.y + offset };
          return { id: key, type: "step", position, selected: true, data: { step: { ...step, key, position, depends_on: [] } } };
        });
        const pastedEdges = clipboard.edges.map((e) =>
          dependencyEdge(renamed.get(e.source)!, renamed.get(e.target)!, e.data?.branch ?? e.sourceHandle));
        remember();
        commit([...deselect(nodes), ...pasted], [...edges.map((e) => (e.selected ? { ...e, selected: false } : e)), ...pastedEdges], {
          clipboard: { ...clipboard, pastes: clipboard.pastes + 1 },
          selected: pasted.length === 1 ? pasted[0].id : null,
        });
        return pasted.map((n) => n.id);
      },

      undo() {
        const { past, future, viewing } = get();
        if (!past.length || viewing) return;
        const previous = past[past.length - 1];
        const current = snapshot();
        set({ past: past.slice(0, -1), future: [current, ...future], lastEdit: null });
        set({ nodes: previous.nodes, edges: previous.edges, revision: previous.revision, selected: selectedOf(previous.nodes) });
        set({ issues: revalidate(get()) });
      },

      redo() {
        const { past, future, viewing } = get();
        if (!future.length || viewing) return;
        const [next, ...rest] = future;
        set({ past: [...past, snapshot()], future: rest, lastEdit: null });
        set({ nodes: next.nodes, edges: next.edges, revision: next.revision, selected: selectedOf(next.nodes) });
        set({ issues: revalidate(get()) });
      },

      autoLayout() {
        const { nodes, edges } = get();
        if (!nodes.length) return;
        placeAll(layout(nodes, edges));
      },

      layoutTicket() {
        return ticketOf(get());
      },

      setAutoLayoutPending(ticket) {
        set({ autoLayoutPending: ticket });
      },

      applyLayout(positions, ticket, kind) {
        const state = get();
        if (!isCurrentLayout(ticket, ticketOf(state))) return false;
        const placed = placeNodes(state.nodes, positions);
        if (kind === "place") {
          // Not an edit: the workflow had no positions; the designer saves these once (quietly).
          set({ nodes: placed, placing: null });
          return true;
        }
        placeAll(placed);
        return true;
      },

      markSaved(rev) {
        set({ savedRevision: rev, serverIssues: {}, generalErrors: [] });
        set({ issues: revalidate(get()) });
      },

      setServerErrors(byStep, general, revision) {
        set({ serverIssues: byStep, generalErrors: general, ...(revision === undefined ? {} : { validatedRevision: revision }) });
        set({ issues: revalidate(get()) });
      },

      viewVersion(version, steps) {
        const { viewing, stash } = get();
        const keep = viewing ? stash : snapshot();
        // The server's problems are those of the graph it checked: not of this one (checked anew).
        const { unplaced, ...graph } = withGraph(steps);
        set({ ...graph, viewing: { version }, stash: keep, selected: null, ...UNCHECKED,
          placing: unplaced ? { revision: get().revision, viewing: version } : null });
        set({ issues: revalidate(get()) });
      },

      viewCode(version, graph) {
        set({ ...graph, viewing: { version, code: true }, stash: null, selected: null, past: [], future: [], issues: {}, placing: null });
      },

      exitView() {
        const { stash } = get();
        if (!stash) return;
        set({ nodes: stash.nodes, edges: stash.edges, revision: stash.revision, viewing: null, stash: null, selected: selectedOf(stash.nodes),
          ...UNCHECKED, placing: unplacedNodes(stash.nodes) ? { revision: stash.revision, viewing: null } : null });
        set({ issues: revalidate(get()) });
      },

      restoreVersion(steps) {
        const { stash } = get();
        if (stash) set({ nodes: stash.nodes, edges: stash.edges, revision: stash.revision, viewing: null, stash: null });
        remember();
        const { unplaced, ...graph } = withGraph(steps);
        commit(graph.nodes, graph.edges, { selected: null });
        if (unplaced) set({ placing: ticketOf(get()) });
      },

      steps() {
        return flowToSteps(get().nodes, get().edges);
      },
    };
  });
  return store;
}

export type DesignerStore = ReturnType<typeof createDesignerStore>;
