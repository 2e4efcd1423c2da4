/** The canvas: React Flow over the designer store (the steps, and the triggers' start nodes left of
 * them), palette drops, connections that refuse cycles, minimap and controls. Marks itself data-ready (and window.__flowpilotDesigner) once drawn, and
 * data-checked while the problems shown are the server's answer for the graph on screen. */
import {
  Background, BackgroundVariant, Controls, MarkerType, MiniMap, Panel, ReactFlow,
  type Connection, type DefaultEdgeOptions, type Node, type NodeChange,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";

import { edgeTypes } from "@/components/LoopEdge";
import { usePaletteDrop } from "@/hooks/use-palette-drop";
import { compensationEdges } from "@/lib/graph";
import { toast } from "@/lib/toast";
import { isTriggerNodeId, triggerEdges, type TriggerKind } from "@/lib/triggers";
import type { StepType } from "@/lib/types";
import { isWarning, type Issue } from "@/lib/validation";

import { useDesigner, useDesignerApi } from "./context";
import { nodeTypes } from "./nodes";

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
  const [fitOnOpen] = useState(() => api.getState().nodes.length > 0);
  const shownNodes = useMemo<Node[]>(() => (triggerNodes.length ? [...triggerNodes, ...nodes] : nodes), [triggerNodes, nodes]);
  const links = useMemo(() => compensationEdges(nodes.map((n) => n.data.step)), [nodes]);
  const shownEdges = useMemo(() => (triggerNodes.length || links.length
    ? [...(triggerNodes.length ? triggerEdges(triggerNodes, nodes, edges) : []), ...edges, ...links] : edges),
    [triggerNodes, nodes, edges, links]);
  const [ready, setReady] = useState(false);
  const minimapColor = useCallback((node: Node) =>
    (node.selected ? "#4f46e5" : isTriggerNodeId(node.id) ? "#f5b544"
      : minimapIssueColor(api.getState().issues[node.id])), [api]);

  const onConnect = useCallback((connection: Connection) => {
    const result = api.getState().connect(connection);
    if (!result.ok) toast(result.reason, "error");
  }, [api]);

  const onInit = useCallback(() => {
    requestAnimationFrame(() => setReady(true));
  }, []);

  useEffect(() => {
    window.__flowpilotDesigner = { ready, nodeCount: nodes.length };
  }, [ready, nodes.length]);
  useEffect(() => () => {
    delete window.__flowpilotDesigner;
  }, []);

  return (
    <div className="fp-canvas" data-ready={ready ? "true" : "false"} data-node-count={nodes.length}
         data-checked={checked ? "true" : "false"}
         onDragOver={drop.onDragOver} onDrop={drop.onDrop}>
      <ReactFlow
        nodes={shownNodes}
        edges={shownEdges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
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
        minZoom={0.1}
        maxZoom={2}
      >
        <Background variant={BackgroundVariant.Dots} gap={18} size={1} color="#d3d7e6" />
        <Controls showInteractive={false} fitViewOptions={fitViewOptions} />
        <MiniMap pannable zoomable nodeColor={minimapColor} nodeStrokeWidth={0} ariaLabel="Minimap" />
        <Panel position="top-left">{toolbar}</Panel>
        {nodes.length === 0 && (
          <div className="fp-canvas-empty">
            <strong>Drag a step from the palette</strong>
            <span>…or click one to add it. Connect steps by dragging from a node’s right handle to another’s left.</span>
          </div>
        )}
      </ReactFlow>
    </div>
  );
}
