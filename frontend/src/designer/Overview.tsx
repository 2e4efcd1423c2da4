/** A big graph far zoomed out (below lod.ts's OVERVIEW_ZOOM): every step a rectangle and every edge a
 * line, drawn as three SVG paths inside the viewport (flow coordinates), in place of React Flow's
 * nodes and edges: thousands of them cost three DOM elements, not thousands of components. Selected
 * steps in the primary colour, steps with an error in red. */
import { ViewportPortal } from "@xyflow/react";
import { memo, useMemo } from "react";

import { NODE_HEIGHT, NODE_WIDTH, type DependencyEdge, type StepNode } from "@/lib/graph";
import type { IssueMap } from "@/lib/validation";
import { isWarning } from "@/lib/validation";

export function overviewPaths(nodes: StepNode[], edges: DependencyEdge[], issues: IssueMap) {
  const at = new Map<string, { x: number; y: number; w: number; h: number }>();
  let boxes = "";
  let selected = "";
  let invalid = "";
  for (const node of nodes) {
    const w = node.measured?.width ?? NODE_WIDTH;
    const h = node.measured?.height ?? NODE_HEIGHT;
    const { x, y } = node.position;
    at.set(node.id, { x, y, w, h });
    const rect = `M${x},${y}h${w}v${h}h${-w}Z`;
    if (node.selected) selected += rect;
    else if (issues[node.id]?.some((i) => !isWarning(i))) invalid += rect;
    else boxes += rect;
  }
  let lines = "";
  for (const edge of edges) {
    const s = at.get(edge.source);
    const t = at.get(edge.target);
    if (s && t) lines += `M${s.x + s.w},${s.y + s.h / 2}L${t.x},${t.y + t.h / 2}`;
  }
  return { boxes, selected, invalid, lines };
}

export const Overview = memo(function Overview({ nodes, edges, issues }: { nodes: StepNode[]; edges: DependencyEdge[]; issues: IssueMap }) {
  const paths = useMemo(() => overviewPaths(nodes, edges, issues), [nodes, edges, issues]);
  return (
    <ViewportPortal>
      <svg className="fp-overview" data-testid="overview" width="1" height="1" aria-hidden="true">
        <path d={paths.lines} className="fp-overview-edges" />
        <path d={paths.boxes} className="fp-overview-steps" />
        <path d={paths.invalid} className="fp-overview-steps fp-overview-invalid" />
        <path d={paths.selected} className="fp-overview-steps fp-overview-selected" />
      </svg>
    </ViewportPortal>
  );
});
