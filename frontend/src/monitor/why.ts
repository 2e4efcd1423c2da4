/** "Why isn't it running?": what the monitor makes of GET /executions/<id>/why/. The server decides every
 * reason (workflows/engine/planner/why.py); this only names the codes and says when to show them. */
import type { ExecutionWhy, WhyReason, WhyReasonCode } from "@/lib/types";

export const REASON_LABELS: Record<WhyReasonCode, string> = {
  concurrency: "Waiting for a concurrency slot",
  scheduled: "Scheduled",
  starting: "Starting",
  queued: "Queued",
  no_worker: "No worker listening",
  running: "Running",
  timer: "Timer",
  signal: "Waiting for a signal",
  approval: "Waiting for approval",
  children: "Waiting for child runs",
  backoff: "Backing off",
  circuit_open: "Circuit open",
  upstream: "Waiting for upstream steps",
  halted: "Halted",
  failed: "Failed",
  cancelled: "Cancelled",
  completed: "Completed",
  paused: "Paused",
  rate_limit: "Rate limited",
};

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
