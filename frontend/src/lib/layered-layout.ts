/** A layered (Sugiyama-style) layout, iterative throughout: no recursion, so a 10,000-step chain lays
 * out (dagre's recursive DFS overflowed the stack near 2,500). Pure: boxes and edges in, top-left
 * positions out; run in the layout worker (layout.worker.ts) and, for small graphs, in place.
 *
 * 1. Cycles (a code workflow's goto moves) are broken by reversing the back edges an iterative DFS finds.
 * 2. Layers: longest path from the sources (Kahn's topological order), so every edge goes forward.
 * 3. Order within a layer: a few barycenter sweeps, down then up (the mean order of a node's
 *    neighbours in the previous layer), starting from the definition's order.
 * 4. Coordinates: layers left to right (LR) or top to bottom (TB), each as wide as its widest box;
 *    within a layer the boxes stacked in order, each pulled towards its upstream neighbours' middle
 *    without overlapping, then the layer centred. */

export interface LayoutBox {
  id: string;
  width: number;
  height: number;
}

export interface LayoutLink {
  source: string;
  target: string;
}

export interface LayeredOptions {
  direction?: "LR" | "TB";
  /** Gap between boxes in a layer, and between layers. */
  nodeGap?: number;
  layerGap?: number;
  margin?: number;
  /** Barycenter sweeps (down + up counts as two); bounded work: each is O(edges + nodes log nodes). */
  sweeps?: number;
}

export type Positions = Record<string, { x: number; y: number }>;

const DEFAULTS: Required<LayeredOptions> = { direction: "LR", nodeGap: 40, layerGap: 90, margin: 20, sweeps: 4 };

/** Each node's layer (0 = a source), after reversing the edges that close a cycle. Indexes, not ids. */
export function assignLayers(count: number, edges: [number, number][]): Int32Array {
  const out: number[][] = Array.from({ length: count }, () => []);
  for (const [s, t] of edges) if (s !== t) out[s].push(t);
  // Back edges by an iterative DFS (colours: 0 new, 1 on the stack, 2 done).
  const colour = new Uint8Array(count);
  const reversed = new Set<string>();
  const cursor = new Int32Array(count);
  for (let root = 0; root < count; root += 1) {
    if (colour[root]) continue;
    const stack = [root];
    colour[root] = 1;
    while (stack.length) {
      const node = stack[stack.length - 1];
      if (cursor[node] < out[node].length) {
        const next = out[node][cursor[node]++];
        if (colour[next] === 0) {
          colour[next] = 1;
          stack.push(next);
        } else if (colour[next] === 1) {
          reversed.add(`${node}>${next}`);
        }
      } else {
        colour[node] = 2;
        stack.pop();
      }
    }
  }
  const forward: number[][] = Array.from({ length: count }, () => []);
  const indegree = new Int32Array(count);
  for (let s = 0; s < count; s += 1) {
    for (const t of out[s]) {
      const [a, b] = reversed.has(`${s}>${t}`) ? [t, s] : [s, t];
      forward[a].push(b);
      indegree[b] += 1;
    }
  }
  const layer = new Int32Array(count);
  const queue: number[] = [];
  for (let i = 0; i < count; i += 1) if (indegree[i] === 0) queue.push(i);
  for (let head = 0; head < queue.length; head += 1) {
    const node = queue[head];
    for (const next of forward[node]) {
      if (layer[node] + 1 > layer[next]) layer[next] = layer[node] + 1;
      indegree[next] -= 1;
      if (indegree[next] === 0) queue.push(next);
    }
  }
  return layer;
}

/** Top-left positions for every box; edges to unknown ids are ignored. */
export function layeredLayout(boxes: LayoutBox[], links: LayoutLink[], options: LayeredOptions = {}): Positions {
  const { direction, nodeGap, layerGap, margin, sweeps } = { ...DEFAULTS, ...options };
  const count = boxes.length;
  const index = new Map(boxes.map((box, i) => [box.id, i]));
  const edges: [number, number][] = [];
  for (const link of links) {
    const s = index.get(link.source);
    const t = index.get(link.target);
    if (s !== undefined && t !== undefined && s !== t) edges.push([s, t]);
  }
  const layer = assignLayers(count, edges);

  // Neighbours across layers (an edge reversed for a cycle counts the other way round).
  const up: number[][] = Array.from({ length: count }, () => []);
  const down: number[][] = Array.from({ length: count }, () => []);
  for (const [s, t] of edges) {
    if (layer[s] < layer[t]) {
      up[t].push(s);
      down[s].push(t);
    } else if (layer[t] < layer[s]) {
      up[s].push(t);
      down[t].push(s);
    }
  }

  let depth = 0;
  for (let i = 0; i < count; i += 1) if (layer[i] + 1 > depth) depth = layer[i] + 1;
  const layers: number[][] = Array.from({ length: depth }, () => []);
  for (let i = 0; i < count; i += 1) layers[layer[i]].push(i);

  const order = new Float64Array(count);
  const setOrder = (list: number[]) => list.forEach((node, i) => { order[node] = i; });
  layers.forEach(setOrder);
  const sortBy = (list: number[], neighbours: number[][]) => {
    const key = new Map<number, number>();
    for (const node of list) {
      const near = neighbours[node];
      if (!near.length) key.set(node, order[node]);
      else {
        let sum = 0;
        for (const n of near) sum += order[n];
        key.set(node, sum / near.length);
      }
    }
    list.sort((a, b) => key.get(a)! - key.get(b)! || order[a] - order[b]);
    setOrder(list);
  };
  for (let sweep = 0; sweep < sweeps; sweep += 1) {
    if (sweep % 2 === 0) for (let l = 1; l < depth; l += 1) sortBy(layers[l], up);
    else for (let l = depth - 2; l >= 0; l -= 1) sortBy(layers[l], down);
  }

  const across = (i: number) => (direction === "LR" ? boxes[i].height : boxes[i].width);
  const along = (i: number) => (direction === "LR" ? boxes[i].width : boxes[i].height);
  // Where each layer starts along the main axis.
  const start = new Float64Array(depth);
  let at = margin;
  for (let l = 0; l < depth; l += 1) {
    start[l] = at;
    let widest = 0;
    for (const node of layers[l]) widest = Math.max(widest, along(node));
    at += widest + layerGap;
  }
  // Across: each box's middle, pulled towards its upstream neighbours' middles, never overlapping.
  const middle = new Float64Array(count);
  for (let l = 0; l < depth; l += 1) {
    const list = layers[l];
    let floor = -Infinity;
    for (const node of list) {
      const half = across(node) / 2;
      let wanted = floor === -Infinity ? 0 : floor + half;
      if (up[node].length) {
        let sum = 0;
        for (const n of up[node]) sum += middle[n];
        wanted = sum / up[node].length;
      }
      const lowest = floor === -Infinity ? -Infinity : floor + half;
      middle[node] = Math.max(wanted, lowest);
      floor = middle[node] + half + nodeGap;
    }
    if (!list.some((node) => up[node].length)) {
      // A layer of sources: centred on the origin.
      const first = list[0];
      const last = list[list.length - 1];
      const shift = ((middle[first] - across(first) / 2) + (middle[last] + across(last) / 2)) / 2;
      for (const node of list) middle[node] -= shift;
    }
  }
  let lowest = Infinity;
  for (let i = 0; i < count; i += 1) lowest = Math.min(lowest, middle[i] - across(i) / 2);
  const offset = count ? margin - lowest : 0;
  const positions: Positions = {};
  for (let i = 0; i < count; i += 1) {
    const a = start[layer[i]];
    const b = middle[i] - across(i) / 2 + offset;
    positions[boxes[i].id] = direction === "LR" ? { x: a, y: b } : { x: b, y: a };
  }
  return positions;
}
