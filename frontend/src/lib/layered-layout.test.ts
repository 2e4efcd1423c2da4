import { assignLayers, layeredLayout, type LayoutBox, type LayoutLink } from "./layered-layout";

const box = (id: string): LayoutBox => ({ id, width: 220, height: 64 });

function chain(n: number) {
  const boxes = Array.from({ length: n }, (_, i) => box(`s${i}`));
  const links: LayoutLink[] = [];
  for (let i = 1; i < n; i += 1) links.push({ source: `s${i - 1}`, target: `s${i}` });
  return { boxes, links };
}

/** Layers of `width` steps, each step depending on one or two of the layer before. */
function dag(n: number, width: number) {
  const boxes = Array.from({ length: n }, (_, i) => box(`s${i}`));
  const links: LayoutLink[] = [];
  for (let i = width; i < n; i += 1) {
    links.push({ source: `s${i - width}`, target: `s${i}` });
    if (i % width) links.push({ source: `s${i - width - 1}`, target: `s${i}` });
  }
  return { boxes, links };
}

function overlaps(boxes: LayoutBox[], positions: Record<string, { x: number; y: number }>): boolean {
  const sorted = boxes.map((b) => ({ ...b, ...positions[b.id] })).sort((a, b) => a.x - b.x || a.y - b.y);
  for (let i = 1; i < sorted.length; i += 1) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (a.x === b.x && b.y < a.y + a.height) return true;
  }
  return false;
}

describe("layered layout", () => {
  it("lays out a 10,000-step chain without recursion, every edge going rightward", () => {
    const { boxes, links } = chain(10_000);
    const positions = layeredLayout(boxes, links);
    expect(Object.keys(positions)).toHaveLength(10_000);
    for (const { source, target } of links) expect(positions[target].x).toBeGreaterThan(positions[source].x);
    expect(new Set(boxes.map((b) => positions[b.id].y)).size).toBe(1); // a chain is one straight row
  });

  it("lays out a 10,000-step DAG 20 wide: edges rightward, boxes of a layer apart", () => {
    const { boxes, links } = dag(10_000, 20);
    const started = performance.now();
    const positions = layeredLayout(boxes, links);
    expect(performance.now() - started).toBeLessThan(5_000); // seconds with dagre, when it works at all
    for (const { source, target } of links) {
      expect(positions[target].x).toBeGreaterThanOrEqual(positions[source].x + 220);
    }
    expect(new Set(boxes.map((b) => positions[b.id].x)).size).toBe(500);
    expect(overlaps(boxes, positions)).toBe(false);
  });

  it("goes downward top to bottom, and keeps the margin", () => {
    const { boxes, links } = dag(60, 5);
    const positions = layeredLayout(boxes, links, { direction: "TB", margin: 20 });
    for (const { source, target } of links) expect(positions[target].y).toBeGreaterThan(positions[source].y);
    expect(Math.min(...Object.values(positions).map((p) => p.x))).toBe(20);
    expect(Math.min(...Object.values(positions).map((p) => p.y))).toBe(20);
  });

  it("puts a step after the longest path to it", () => {
    const layers = assignLayers(4, [[0, 1], [1, 2], [0, 2], [2, 3]]);
    expect(Array.from(layers)).toEqual([0, 1, 2, 3]);
  });

  it("breaks a cycle (a code workflow's goto) and still places every step", () => {
    const boxes = ["a", "b", "c", "d"].map(box);
    const links = [{ source: "a", target: "b" }, { source: "b", target: "c" }, { source: "c", target: "b" }, { source: "c", target: "d" }];
    const positions = layeredLayout(boxes, links);
    expect(positions.a.x).toBeLessThan(positions.b.x);
    expect(positions.b.x).toBeLessThan(positions.c.x);
    expect(positions.c.x).toBeLessThan(positions.d.x);
  });

  it("orders a layer to follow its parents (fewer crossings than the definition order)", () => {
    // a1 -> b2, a2 -> b1: listed crossing; the sweep uncrosses them.
    const boxes = ["a1", "a2", "b1", "b2"].map(box);
    const positions = layeredLayout(boxes, [{ source: "a1", target: "b2" }, { source: "a2", target: "b1" }]);
    expect(positions.b2.y).toBeLessThan(positions.b1.y);
  });

  it("ignores self-loops and edges to unknown steps, and an empty graph", () => {
    const positions = layeredLayout([box("a")], [{ source: "a", target: "a" }, { source: "a", target: "zz" }]);
    expect(positions).toEqual({ a: { x: 20, y: 20 } });
    expect(layeredLayout([], [])).toEqual({});
  });
});
