/** The execution's graph: the version's steps (and a code workflow's moves), read-only, coloured live; clicking a step selects it.
 * Scales to thousands of steps: laid out once per version (never on a live event), node and edge objects
 * kept while what they show is unchanged (a selection or an event redraws only the nodes it changes),
 * only what is in view drawn, simple nodes when zoomed out, and a minimum zoom at which the whole graph fits. */
import { Background, Controls, getNodesBounds, MiniMap, ReactFlow, ReactFlowProvider, useReactFlow, useStore, type NodeTypes } from "@xyflow/react";
import { memo, useEffect, useMemo, useRef } from "react";

import { edgeTypes } from "@/components/LoopEdge";
import type { DependencyEdge } from "@/lib/graph";
import type { DefinitionEdge, TaskExecution, VersionStep } from "@/lib/types";

import { edgeRunState, monitorLayout, nodeRunState, sourceHandleOf, summarizeSteps, type MonitorNode } from "./execution-state";
import { LOD_ZOOM, MonitorStepNode } from "./MonitorStepNode";
import { keepUnchanged, newKeeper } from "./stable-objects";

const nodeTypes: NodeTypes = { step: MonitorStepNode };
const minimapClass = (node: MonitorNode) => `status-${node.data.status ?? "pending"}`;

interface Props {
  steps: VersionStep[];
  /** A code workflow's moves (its version's `edges`): drawn instead of the steps' depends_on. */
  edges?: DefinitionEdge[];
  tasks: TaskExecution[];
  selectedKey: string | null;
  onSelect: (key: string | null) => void;
  /** Steps whose config this run overrides (edit and resume): marked on their nodes. */
  edited?: string[];
}

export const MonitorGraph = memo(function MonitorGraph(props: Props) {
  return (
    <ReactFlowProvider>
      <Graph {...props} />
    </ReactFlowProvider>
  );
});

/** Room kept on the right for the minimap (150px wide, 15px from the edge), so that fitting the
 * graph never puts its last column under it. */
const FIT_VIEW = { padding: { top: "24px", bottom: "24px", left: "24px", right: "190px" }, maxZoom: 1.2 } as const;
/** The zoom out limit of a small graph (as before); a bigger one may zoom out until it fits. */
const MIN_ZOOM = 0.2;
/** From this many steps only the nodes and edges in view are drawn (below, checking each one on every
 * frame of a pan costs more than drawing them all). */
export const VISIBLE_ONLY_FROM = 100;
/** The canvas is at least this big (px): what the minimum zoom is computed for before it is measured. */
const CANVAS = { width: 600, height: 360 };

/** The least zoom at which a graph of `bounds` fits a canvas of `size` (with the fit padding), at most MIN_ZOOM. */
export function fittingMinZoom(bounds: { width: number; height: number }, size: { width: number; height: number }): number {
  const width = Math.max(1, size.width - 24 - 190);
  const height = Math.max(1, size.height - 48);
  const fit = Math.min(width / Math.max(1, bounds.width), height / Math.max(1, bounds.height));
  return Math.max(0.001, Math.min(MIN_ZOOM, fit * 0.9));
}

const zoomedOut = (state: { transform: [number, number, number] }) => state.transform[2] < LOD_ZOOM;
const canvasSize = (state: { width: number; height: number }) => `${state.width}x${state.height}`;

function Graph({ steps, edges, tasks, selectedKey, onSelect, edited }: Props) {
  const base = useMemo(() => monitorLayout(steps, edges), [steps, edges]);
  const summaries = useMemo(() => summarizeSteps(tasks), [tasks]);
  const editedKeys = (edited ?? []).join(",");
  const far = useStore(zoomedOut);

  const nodeKeeper = useRef(newKeeper<MonitorNode>());
  const nodes = useMemo(() => {
    const marked = new Set(editedKeys ? editedKeys.split(",") : []);
    const sign = (node: MonitorNode) => {
      const state = nodeRunState(summaries, node.id);
      return `${state.status}|${state.attempts}|${state.visits}|${state.mocked}|${node.id === selectedKey}|${marked.has(node.id)}`;
    };
    nodeKeeper.current = keepUnchanged(nodeKeeper.current, base, base.nodes, sign, (node) => ({
      ...node, selected: node.id === selectedKey,
      data: { ...node.data, ...nodeRunState(summaries, node.id), ...(marked.has(node.id) ? { edited: true } : {}) },
    }));
    return nodeKeeper.current.list;
  }, [base, summaries, selectedKey, editedKeys]);

  const edgeKeeper = useRef(newKeeper<DependencyEdge>());
  const shownEdges = useMemo(() => {
    const view = (edge: DependencyEdge) => {
      const state = edgeRunState(summaries, edge);
      // Zoomed out, nothing moves along the edges: an animated dash costs a repaint per frame.
      return { ...state, animated: state.animated && !far };
    };
    edgeKeeper.current = keepUnchanged(edgeKeeper.current, base, base.edges, (edge) => {
      const state = view(edge);
      return `${state.animated}|${state.className ?? ""}`;
    }, (edge) => ({
      ...edge,
      sourceHandle: sourceHandleOf(edge),
      ...view(edge),
    }));
    return edgeKeeper.current.list;
  }, [base, summaries, far]);

  const size = useStore(canvasSize);
  const minZoom = useMemo(() => {
    const [width, height] = size.split("x").map(Number);
    return fittingMinZoom(getNodesBounds(base.nodes), { width: Math.max(width, CANVAS.width), height: Math.max(height, CANVAS.height) });
  }, [base, size]);

  const { fitView } = useReactFlow();
  const shape = useMemo(() => steps.map((step) => step.key).join(","), [steps]);
  // Fit again when the graph itself changes (not on every status change).
  useEffect(() => {
    const frame = requestAnimationFrame(() => void fitView({ ...FIT_VIEW, minZoom }));
    return () => cancelAnimationFrame(frame);
  }, [shape, fitView, minZoom]);

  return (
    <div className="monitor-graph" data-testid="monitor-graph" data-zoomed-out={far ? "true" : "false"}>
      <ReactFlow<MonitorNode>
        nodes={nodes}
        edges={shownEdges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable
        edgesFocusable={false}
        onlyRenderVisibleElements={base.nodes.length >= VISIBLE_ONLY_FROM}
        fitView
        fitViewOptions={{ ...FIT_VIEW, minZoom }}
        minZoom={minZoom}
        onNodeClick={(_, node) => onSelect(node.id === selectedKey ? null : node.id)}
        onPaneClick={() => onSelect(null)}
      >
        <Background gap={20} size={1} />
        <Controls showInteractive={false} position="bottom-left" fitViewOptions={{ ...FIT_VIEW, minZoom }} />
        <MiniMap<MonitorNode> pannable zoomable nodeClassName={minimapClass} position="top-right" style={{ width: 150, height: 96 }} />
      </ReactFlow>
    </div>
  );
}
