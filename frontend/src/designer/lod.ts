/** Level of detail on the canvas: below LOD_ZOOM a step is a plain box (no handles, icon or labels)
 * and an edge a straight line; decided once by the canvas (one subscription to the zoom) and handed
 * down through LodContext, so crossing the threshold re-renders the nodes once and panning not at all. */
import { createContext, useContext } from "react";

import type { DependencyEdge, StepNode } from "@/lib/graph";

/** At 0.4 a node is 88 x 26 px on screen and its 13 px text 5 px high: unreadable, so not drawn. */
export const LOD_ZOOM = 0.4;

export const isZoomedOut = (zoom: number): boolean => zoom < LOD_ZOOM;

/** Below this zoom a graph of more than OVERVIEW_ABOVE steps is drawn as an overview (Overview.tsx:
 * three SVG paths), not as React Flow nodes: at 0.2 a step is 44 x 13 px, too small to read, and
 * above it a 1,280 x 800 canvas shows at most ~400 steps of a dense graph (mounted a batch per frame). */
export const OVERVIEW_ZOOM = 0.2;
/** Up to 500 steps the simple boxes stay (mounted a batch per frame): affordable, and what the
 * 500-step browser benchmark expects to find drawn. */
export const OVERVIEW_ABOVE = 500;

export const isOverview = (zoom: number, steps: number): boolean => steps > OVERVIEW_ABOVE && zoom < OVERVIEW_ZOOM;

export const LodContext = createContext(false);

export const useZoomedOut = () => useContext(LodContext);

/** The smallest zoom the canvas allows: low enough that fit view fits the whole graph (nodes' bounds
 * in a canvas of `view` pixels, with fit view's padding), never above 0.1 (React Flow's usual floor)
 * and never below 0.0001 (a 10,000-step chain is 3,100,000 px long). */
export function minZoomFor(bounds: { width: number; height: number }, view: { width: number; height: number }): number {
  if (bounds.width <= 0 || bounds.height <= 0) return 0.1;
  const fit = Math.min(view.width / bounds.width, view.height / bounds.height) / 1.5; // padding 0.2 each side, and room
  return Math.max(0.0001, Math.min(0.1, fit));
}

/** At most this many steps stay React Flow nodes in the overview. */
export const OVERVIEW_KEY_NODES = 50;

/** The steps kept as React Flow nodes in the overview: the selected ones, then those that start a run
 * (no dependency), at most OVERVIEW_KEY_NODES. */
export function overviewKeyNodes(nodes: StepNode[], edges: DependencyEdge[]): StepNode[] {
  const targets = new Set(edges.map((e) => e.target));
  const selected = nodes.filter((n) => n.selected);
  const roots = nodes.filter((n) => !n.selected && !targets.has(n.id));
  return [...selected, ...roots].slice(0, OVERVIEW_KEY_NODES);
}
