import type { StepNode } from "@/lib/graph";

import { isOverview, isZoomedOut, LOD_ZOOM, minZoomFor, OVERVIEW_ABOVE, OVERVIEW_KEY_NODES, OVERVIEW_ZOOM, overviewKeyNodes } from "./lod";
import { overviewPaths } from "./Overview";

describe("level of detail", () => {
  it("switches to simple nodes and edges below the threshold zoom, back above it", () => {
    expect(isZoomedOut(1)).toBe(false);
    expect(isZoomedOut(LOD_ZOOM)).toBe(false);
    expect(isZoomedOut(LOD_ZOOM - 0.01)).toBe(true);
    expect(isZoomedOut(0.05)).toBe(true);
  });

  it("allows a zoom low enough to fit a big graph, and no lower than needed for a small one", () => {
    const view = { width: 1000, height: 700 };
    expect(minZoomFor({ width: 800, height: 400 }, view)).toBe(0.1);
    // A 1,000-step chain: 1,000 layers of 310 px.
    const chain = minZoomFor({ width: 310_000, height: 64 }, view);
    expect(chain).toBeLessThan(1000 / 310_000);
    expect(chain).toBeGreaterThan(0.0001);
    expect(minZoomFor({ width: 1e9, height: 10 }, view)).toBe(0.0001);
    expect(minZoomFor({ width: 0, height: 0 }, view)).toBe(0.1);
  });
});

describe("the overview of a big graph far zoomed out", () => {
  it("is drawn only for a big graph below the overview zoom", () => {
    expect(isOverview(0.05, 1000)).toBe(true);
    expect(isOverview(0.05, OVERVIEW_ABOVE)).toBe(false); // small graphs stay React Flow nodes
    expect(isOverview(OVERVIEW_ZOOM, 1000)).toBe(false);
  });

  it("draws every step as a rectangle and every edge as a line, selected and invalid apart", () => {
    const node = (id: string, x: number, selected = false) =>
      ({ id, type: "step", position: { x, y: 0 }, selected, data: { step: {} } }) as unknown as StepNode;
    const paths = overviewPaths([node("a", 0), node("b", 300, true), node("c", 600)],
      [{ id: "a->b", source: "a", target: "b" }, { id: "b->c", source: "b", target: "c" }],
      { c: [{ field: "config", message: "required" }] });
    expect(paths.boxes).toBe("M0,0h220v64h-220Z");
    expect(paths.selected).toBe("M300,0h220v64h-220Z");
    expect(paths.invalid).toBe("M600,0h220v64h-220Z");
    expect(paths.lines).toBe("M220,32L300,32M520,32L600,32");
  });
});

describe("the steps kept as nodes in the overview", () => {
  it("are the selected ones, then the ones that start a run, at most 50", () => {
    const node = (id: string, selected = false) => ({ id, type: "step", position: { x: 0, y: 0 }, selected, data: { step: {} } }) as unknown as StepNode;
    const nodes = [node("a"), node("b"), node("c", true), ...Array.from({ length: 80 }, (_, i) => node(`r${i}`))];
    const edges = [{ id: "a->b", source: "a", target: "b" }, { id: "b->c", source: "b", target: "c" }];
    const kept = overviewKeyNodes(nodes, edges).map((n) => n.id);
    expect(kept.slice(0, 3)).toEqual(["c", "a", "r0"]);
    expect(kept).toHaveLength(OVERVIEW_KEY_NODES);
    expect(kept).not.toContain("b");
  });
});
