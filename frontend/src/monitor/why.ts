/** "Why isn't it running?": what the monitor makes of GET /executions/<id>/why/. The server decides every
 * reason (workflows/engine/planner/why.py); this only names the codes and says when to show them. */
import type { ExecutionWhy, WhyReason, WhyReasonCode } from "@/lib/types";

/** A short tag per code; the sentence is the server's `detail`. */
export const REASON_LABELS: Record<WhyReasonCode, string> = {
  concurrency: "Concurrency",
  scheduled: "Scheduled",
  starting: "Starting",
  queued: "Queued",
  no_worker: "No worker",
  running: "Running",
  timer: "Timer",
  signal: "Signal",
  approval: "Approval",
  children: "Child runs",
  backoff: "Backoff",
  circuit_open: "Circuit open",
  upstream: "Upstream",
  halted: "Halted",
  failed: "Failed",
  cancelled: "Cancelled",
  completed: "Completed",
  paused: "Paused",
  rate_limit: "Rate limit",
};

export type DetailPart = { text: string } | { run: string } | { time: string };

const TOKENS = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})|(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)/g;

/** The server's sentence in parts: the runs it names (ids listed in `runs`) and the times it gives (UTC), so
 * the panel links the runs and shows the times in the user's time zone. */
export function detailParts(reason: WhyReason): DetailPart[] {
  const parts: DetailPart[] = [];
  let at = 0;
  for (const match of reason.detail.matchAll(TOKENS)) {
    const [token, id, time] = match;
    if (id && !reason.runs.includes(id)) continue;
    if (match.index > at) parts.push({ text: reason.detail.slice(at, match.index) });
    parts.push(id ? { run: id } : { time: time! });
    at = match.index + token.length;
  }
  if (at < reason.detail.length) parts.push({ text: reason.detail.slice(at) });
  return parts;
}

/** The panel shows while the run is not finished and not every reason is a running step. */
export function showWhyPanel(why: ExecutionWhy | undefined): boolean {
  if (!why || (why.status !== "pending" && why.status !== "running")) return false;
  return why.reasons.some((reason) => reason.reason !== "running");
}

/** The reason of one step (none for a step that is over or has nothing to explain). */
export function stepReason(why: ExecutionWhy | undefined, stepKey: string): WhyReason | undefined {
  return why?.reasons.find((reason) => reason.step_key === stepKey);
}

/** A run id as the panel shows it: its first 8 characters. */
export function shortRun(id: string): string {
  return `#${id.slice(0, 8)}`;
}

/** "14:05:00" today, the date and time otherwise: when a wait ends, in the user's time zone. */
export function untilText(iso: string, now: Date = new Date()): string {
  const at = new Date(iso);
  const sameDay = at.toDateString() === now.toDateString();
  return sameDay ? at.toLocaleTimeString(undefined, { timeStyle: "medium" })
    : at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
