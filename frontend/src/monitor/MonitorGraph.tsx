/** The execution's graph: the version's steps (and a code workflow's moves), read-only, coloured live; clicking a step selects it. */
import { Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, useReactFlow, type NodeTypes } from "@xyflow/react";
import { useEffect, useMemo } from "react";

import { edgeTypes } from "@/components/LoopEdge";
import type { DefinitionEdge, TaskExecution, VersionStep } from "@/lib/types";

import { monitorFlow, type MonitorNode } from "./execution-state";
import { MonitorStepNode } from "./MonitorStepNode";

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

export function MonitorGraph(props: Props) {
  return (
    <ReactFlowProvider>
      <Graph {...props} />
    </ReactFlowProvider>
  );
}

/** Room kept on the right for the minimap (150px wide, 15px from the edge), so that fitting the
 * graph never puts its last column under it. */
const FIT_VIEW = { padding: { top: "24px", bottom: "24px", left: "24px", right: "190px" }, maxZoom: 1.2 } as const;

function Graph({ steps, edges, tasks, selectedKey, onSelect, edited }: Props) {
  const flow = useMemo(() => monitorFlow(steps, tasks, edges), [steps, tasks, edges]);
  const editedKeys = (edited ?? []).join(",");
  const nodes = useMemo(() => {
    const marked = new Set(editedKeys ? editedKeys.split(",") : []);
    return flow.nodes.map((node) => ({
      ...node, selected: node.id === selectedKey,
      ...(marked.has(node.id) ? { data: { ...node.data, edited: true } } : {}),
    }));
  }, [flow.nodes, selectedKey, editedKeys]);
  const { fitView } = useReactFlow();
  const shape = steps.map((step) => step.key).join(",");
  // Fit again when the graph itself changes (not on every status change).
  useEffect(() => {
    const frame = requestAnimationFrame(() => void fitView(FIT_VIEW));
    return () => cancelAnimationFrame(frame);
  }, [shape, fitView]);

  return (
    <div className="monitor-graph" data-testid="monitor-graph">
      <ReactFlow<MonitorNode>
        nodes={nodes}
        edges={flow.edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable
        edgesFocusable={false}
        fitView
        fitViewOptions={FIT_VIEW}
        minZoom={0.2}
        onNodeClick={(_, node) => onSelect(node.id === selectedKey ? null : node.id)}
        onPaneClick={() => onSelect(null)}
      >
        <Background gap={20} size={1} />
        <Controls showInteractive={false} position="bottom-left" />
        <MiniMap<MonitorNode> pannable zoomable nodeClassName={minimapClass} position="top-right" style={{ width: 150, height: 96 }} />
      </ReactFlow>
    </div>
  );
}
