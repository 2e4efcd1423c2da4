/// <reference lib="webworker" />
/** The layout worker: lays out off the main thread (layered-layout.ts), so a big graph never freezes
 * the page. Message in: a LayoutJob; out: a LayoutAnswer with the same id. */
import { layeredLayout } from "./layered-layout";
import type { LayoutAnswer, LayoutJob } from "./layout-client";

self.onmessage = (event: MessageEvent<LayoutJob>) => {
  const { id, boxes, links, options } = event.data;
  let answer: LayoutAnswer;
  try {
    answer = { id, positions: layeredLayout(boxes, links, options) };
  } catch (error) {
    answer = { id, error: error instanceof Error ? error.message : String(error) };
  }
  (self as unknown as Worker).postMessage(answer);
};
