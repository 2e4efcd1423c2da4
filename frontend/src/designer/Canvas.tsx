/** The canvas: React Flow over the designer store (the steps, and the triggers' start nodes left of
 * them), palette drops, connections that refuse cycles, minimap and controls. Marks itself data-ready (and window.__flowpilotDesigner) once drawn, and
 * data-checked while the problems shown are the server's answer for the graph on screen. A big graph
 * without positions is drawn once the layout worker placed it ("Laying out…" until then, data-ready
 * false); zoomed out, nodes and edges are drawn simple (lod.ts); the minimum zoom fits the graph. */
import {
  Background, BackgroundVariant, Controls, MarkerType, MiniMap, Panel, ReactFlow, useReactFlow, useStore, useStoreApi,
  type Connection, type DefaultEdgeOptions, type Edge, type EdgeTypes, type Node, type NodeChange, type ReactFlowState,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";

import { edgeTypes } from "@/components/LoopEdge";
import { NODE_HEIGHT, NODE_WIDTH, type StepNode } from "@/lib/graph";
import { usePaletteDrop } from "@/hooks/use-palette-drop";
import { compensationEdges } from "@/lib/graph";
import { toast } from "@/lib/toast";
import { isTriggerNodeId, triggerEdges, type TriggerKind } from "@/lib/triggers";
import type { StepType } from "@/lib/types";
import { isWarning, type Issue } from "@/lib/validation";

import { useDesigner, useDesignerApi } from "./context";
import { isOverview, isZoomedOut, LodContext, minZoomFor, OVERVIEW_ZOOM, overviewKeyNodes } from "./lod";
import { Overview } from "./Overview";
import { nodeTypes } from "./nodes";
import { SimpleEdge } from "./SimpleEdge";

declare global {
  interface Window {
    __flowpilotDesigner?: { ready: boolean; nodeCount: number };
  }
}

const defaultEdgeOptions: DefaultEdgeOptions = {
  markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
  labelBgPadding: [6, 3],
  labelBgBorderRadius: 4,
};
const fitViewOptions = { padding: 0.2, maxZoom: 1.2 };
/** Zoomed out every edge is a plain straight line (a code workflow's loop too). */
const simpleEdgeTypes: EdgeTypes = { default: SimpleEdge, loop: SimpleEdge };
const zoomedOutSelector = (s: ReactFlowState) => isZoomedOut(s.transform[2]);
const NO_NODES: Node[] = [];
const NO_EDGES: Edge[] = [];
const NO_STEPS: StepNode[] = [];
/** Up to this many steps every node mounts at once; more mount REVEAL_BATCH per frame. */
const REVEAL_ALL_UP_TO = 300;
const REVEAL_BATCH = 80;

/** How many of `total` nodes to draw: all when `all`, else a batch more each animation frame until
 * every one is (and from then on every one, whatever is added). */
function useReveal(total: number, all: boolean, epoch: number): number {
  const [count, setCount] = useState(REVEAL_BATCH);
  const done = useRef(false);
  const [seen, setSeen] = useState(epoch);
  if (seen !== epoch) { // start again (the nodes were not drawn: the overview was)
    setSeen(epoch);
    setCount(REVEAL_BATCH);
    done.current = false;
  }
  useEffect(() => {
    if (all || done.current) return;
    if (count >= total) {
      done.current = true;
      return;
    }
    const frame = requestAnimationFrame(() => setCount((c) => c + REVEAL_BATCH));
    return () => cancelAnimationFrame(frame);
  }, [all, count, total]);
  return all || done.current ? total : Math.min(count, total);
}

interface CanvasProps {
  onDropType: (type: StepType, position: { x: number; y: number }) => void;
  onDropTrigger: (kind: TriggerKind, position: { x: number; y: number }) => void;
  toolbar: ReactNode;
}

/** Red for a step with an error, amber for one with only warnings. */
function minimapIssueColor(issues: Issue[] | undefined): string {
  if (!issues?.length) return "#c7cbe0";
  return issues.some((i) => !isWarning(i)) ? "#f04438" : "#f79009";
}

export function Canvas({ onDropType, onDropTrigger, toolbar }: CanvasProps) {
  const api = useDesignerApi();
  const nodes = useDesigner((s) => s.nodes);
  const edges = useDesigner((s) => s.edges);
  const stepTypes = useDesigner((s) => s.stepTypes);
  const readOnly = useDesigner((s) => s.viewing !== null);
  const checked = useDesigner((s) => s.validatedRevision === s.revision);
  const { onNodesChange, onEdgesChange, beginDrag } = api.getState();
  const triggerNodes = useDesigner((s) => s.triggerNodes);
  const drop = usePaletteDrop(stepTypes, onDropType, readOnly ? undefined : onDropTrigger);
  // Fit the view to the workflow when it opens with steps; an empty canvas stays at 1x, so that the
  // first step dropped lands where it was dropped (a pending fitView would centre it and zoom in).
  const placing = useDesigner((s) => s.placing !== null);
  const revision = useDesigner((s) => s.revision);
  const zoomedOut = useStore(zoomedOutSelector);
  const flow = useReactFlow();
  // A big graph is fitted from its bounds and mounted a batch per frame (revealCount), so no task
  // mounts a thousand nodes at once; a small one opens as before (fitView once measured).
  const [big] = useState(() => api.getState().nodes.length > REVEAL_ALL_UP_TO || !!api.getState().placing);
  const [fitOnOpen] = useState(() => api.getState().nodes.length > 0 && !big);
  const overview = useStore(useCallback((s: ReactFlowState) => isOverview(s.transform[2], nodes.length), [nodes.length]));
  // Zooming out into the overview: React Flow's nodes go at once, in the zoom's own store update,
  // before React renders (else its visible-only renderer would first mount every node now in view).
  const storeApi = useStoreApi();
  const count = nodes.length;
  useEffect(() => storeApi.subscribe((state, previous) => {
    if (state.transform[2] === previous.transform[2] || !isOverview(state.transform[2], count)) return;
    if (isOverview(previous.transform[2], count) || !state.nodes.some((n) => n.type === "step")) return;
    state.setNodes(state.nodes.filter((n) => n.type !== "step"));
    state.setEdges([]);
  }), [storeApi, count]);
  const [epoch, setEpoch] = useState(0);
  const [wasOverview, setWasOverview] = useState(overview);
  if (wasOverview !== overview) {
    setWasOverview(overview);
    if (!overview) setEpoch((e) => e + 1); // zoomed in from the overview: the nodes mount a batch per frame
  }
  const revealed = useReveal(nodes.length, placing || !big, epoch);
  // In the overview the steps that start a run and the selected ones stay React Flow nodes (a few):
  // clickable, and drawn over their rectangles.
  const keyNodes = useMemo(() => (overview ? overviewKeyNodes(nodes, edges) : NO_STEPS), [overview, nodes, edges]);
  const shownNodes = useMemo<Node[]>(() => {
    if (placing) return NO_NODES;
    if (overview) return triggerNodes.length ? [...triggerNodes, ...keyNodes] : keyNodes;
    const some = revealed < nodes.length ? nodes.slice(0, revealed) : nodes;
    return triggerNodes.length ? [...triggerNodes, ...some] : some;
  }, [triggerNodes, nodes, placing, revealed, overview, keyNodes]);
  // The graph's bounds, once per revision (and placement): the lowest zoom lets fit view show it all.
  const bounds = useMemo(() => {
    let [left, top, right, bottom] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const node of api.getState().nodes) {
      left = Math.min(left, node.position.x);
      top = Math.min(top, node.position.y);
      right = Math.max(right, node.position.x + (node.measured?.width ?? NODE_WIDTH));
      bottom = Math.max(bottom, node.position.y + (node.measured?.height ?? NODE_HEIGHT));
    }
    return right > left ? { x: left, y: top, width: right - left, height: bottom - top } : null;
  }, [api, revision, placing]); // the revision stands for the nodes (read from the store)
  const minZoom = useMemo(() => {
    const view = { width: Math.max(320, window.innerWidth - 600), height: Math.max(240, window.innerHeight - 120) };
    return bounds ? minZoomFor(bounds, view) : 0.1;
  }, [bounds]);
  const links = useMemo(() => compensationEdges(nodes.map((n) => n.data.step)), [nodes]);
  const shownEdges = useMemo(() => {
    const all = triggerNodes.length || links.length
      ? [...(triggerNodes.length ? triggerEdges(triggerNodes, nodes, edges) : []), ...edges, ...links] : edges;
    if (placing) return NO_EDGES;
    if (overview) {
      if (!keyNodes.length) return NO_EDGES;
      const drawn = new Set(keyNodes.map((n) => n.id));
      return edges.filter((e) => drawn.has(e.source) && drawn.has(e.target));
    }
    if (revealed >= nodes.length) return all;
    const drawn = new Set(shownNodes.map((n) => n.id));
    return all.filter((e) => drawn.has(e.source) && drawn.has(e.target));
  }, [triggerNodes, nodes, edges, links, placing, revealed, shownNodes, overview, keyNodes]);
  const issues = useDesigner((s) => s.issues);
  const [ready, setReady] = useState(false);
  const minimapColor = useCallback((node: Node) =>
    (node.selected ? "#4f46e5" : isTriggerNodeId(node.id) ? "#f5b544"
      : minimapIssueColor(api.getState().issues[node.id])), [api]);

  const onConnect = useCallback((connection: Connection) => {
    const result = api.getState().connect(connection);
    if (!result.ok) toast(result.reason, "error");
  }, [api]);

  const [initialised, setInitialised] = useState(false);
  const onInit = useCallback(() => {
    requestAnimationFrame(() => setInitialised(true));
  }, []);
  // A big graph (or one the worker just placed): fitted from its bounds before its nodes mount (so
  // they mount zoomed out, simple); drawn once every node is.
  const fitted = useRef(false);
  useEffect(() => {
    if (!initialised) return;
    if (placing) {
      fitted.current = false;
      setReady(false);
      return;
    }
    if (big && !fitted.current && bounds) {
      fitted.current = true;
      void flow.fitBounds(bounds, { padding: 0.2 });
    }
    setReady(overview || revealed >= nodes.length);
  }, [initialised, placing, big, bounds, flow, revealed, nodes.length, overview]);

  useEffect(() => {
    window.__flowpilotDesigner = { ready, nodeCount: nodes.length };
  }, [ready, nodes.length]);
  useEffect(() => () => {
    delete window.__flowpilotDesigner;
  }, []);

  return (
    <LodContext.Provider value={zoomedOut}>
    <div className="fp-canvas" data-placing={placing ? "true" : "false"} data-lod={overview ? "overview" : zoomedOut ? "simple" : "full"} data-ready={ready ? "true" : "false"} data-node-count={nodes.length}
         data-checked={checked ? "true" : "false"}
         onDragOver={drop.onDragOver} onDrop={drop.onDrop}>
      <ReactFlow
        nodes={shownNodes}
        edges={shownEdges}
        nodeTypes={nodeTypes}
        edgeTypes={zoomedOut ? simpleEdgeTypes : edgeTypes}
        defaultEdgeOptions={defaultEdgeOptions}
        onNodesChange={onNodesChange as (changes: NodeChange[]) => void}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onNodeDragStart={(_, node) => {
          if (!isTriggerNodeId(node.id)) beginDrag(); // a trigger's place is not part of the definition
        }}
        onInit={onInit}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        deleteKeyCode={null}
        onlyRenderVisibleElements
        fitView={fitOnOpen}
        fitViewOptions={fitViewOptions}
        minZoom={minZoom}
        maxZoom={2}
      >
        <Background variant={BackgroundVariant.Dots} gap={18} size={1} color="#d3d7e6" />
        <Controls showInteractive={false} fitViewOptions={fitViewOptions} />
        <MiniMap pannable zoomable nodeColor={minimapColor} nodeStrokeWidth={0} ariaLabel="Minimap" />
        <Panel position="top-left">{toolbar}</Panel>
        {overview && !placing && <Overview nodes={nodes} edges={edges} issues={issues} />}
        {overview && !placing && (
          <Panel position="bottom-center" className="fp-overview-note">Overview: zoom in past {Math.round(OVERVIEW_ZOOM * 100)}% to select steps</Panel>
        )}
        {placing && (
          <div className="fp-canvas-placing" role="status" aria-live="polite">
            <span>Laying out {nodes.length.toLocaleString()} steps…</span>
          </div>
        )}
        {nodes.length === 0 && (
          <div className="fp-canvas-empty">
            <strong>Drag a step from the palette</strong>
            <span>…or click one to add it. Connect steps by dragging from a node’s right handle to another’s left.</span>
          </div>
        )}
      </ReactFlow>
    </div>
    </LodContext.Provider>
  );
}
