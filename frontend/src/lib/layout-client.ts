/** Layout off the main thread: jobs go to one module worker (layout.worker.ts), answered by id. Where
 * there is no Worker (vitest's jsdom) the same pure layout runs after a macrotask, so callers are the
 * same either way. Plus the rule that drops a stale answer (the graph changed meanwhile). */
import type { Edge, Node } from "@xyflow/react";

import { LAYOUT_OPTIONS, layoutInput } from "./graph";
import { layeredLayout, type LayeredOptions, type LayoutBox, type LayoutLink, type Positions } from "./layered-layout";

export interface LayoutJob {
  id: number;
  boxes: LayoutBox[];
  links: LayoutLink[];
  options: LayeredOptions;
}

export type LayoutAnswer = { id: number; positions: Positions; error?: undefined } | { id: number; error: string; positions?: undefined };

/** What a layout was asked for: the graph's revision then (and whether it was the first placement
 * of a workflow without positions, or the user's Auto-layout). */
export interface LayoutTicket {
  revision: number;
  /** The version shown read-only then (null while editing). */
  viewing: number | null;
}

/** An answer applies only to the graph it was computed for: same revision, same version shown. */
export function isCurrentLayout(ticket: LayoutTicket, now: LayoutTicket): boolean {
  return ticket.revision === now.revision && ticket.viewing === now.viewing;
}

let worker: Worker | null = null;
let nextId = 0;
const waiting = new Map<number, { resolve: (p: Positions) => void; reject: (e: Error) => void }>();

function getWorker(): Worker | null {
  if (typeof Worker === "undefined") return null;
  if (!worker) {
    worker = new Worker(new URL("./layout.worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (event: MessageEvent<LayoutAnswer>) => {
      const job = waiting.get(event.data.id);
      if (!job) return;
      waiting.delete(event.data.id);
      if (event.data.error !== undefined) job.reject(new Error(event.data.error));
      else job.resolve(event.data.positions);
    };
    worker.onerror = (event) => {
      // A worker that failed to load or crashed: every job waiting fails with it; the next one starts anew.
      const error = new Error(event.message || "the layout worker failed");
      for (const job of waiting.values()) job.reject(error);
      waiting.clear();
      worker?.terminate();
      worker = null;
    };
  }
  return worker;
}

/** Positions for the nodes (top-left), computed in the worker. */
export function layoutInWorker(nodes: Node[], edges: Edge[], direction: "LR" | "TB" = "LR"): Promise<Positions> {
  const { boxes, links } = layoutInput(nodes, edges);
  const options = { ...LAYOUT_OPTIONS, direction };
  const target = getWorker();
  if (!target) {
    return new Promise((resolve, reject) => setTimeout(() => {
      try {
        resolve(layeredLayout(boxes, links, options));
      } catch (error) {
        reject(error);
      }
    }, 0));
  }
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    target.postMessage({ id, boxes, links, options } satisfies LayoutJob);
  });
}
