/** Pure Gantt geometry for the execution timeline: one row per step, one bar per phase of each
 * attempt (waiting for a retry, queued, running), placed in percent of the run's time span. */
import type { StepDefinition, TaskExecution, TaskStatus } from "@/lib/types";

import { attemptsByStep } from "./execution-state";

/** backoff: a retry waiting for its time; queued: waiting for a worker; run: on a worker (or waiting durably). */
export type SegmentKind = "backoff" | "queued" | "run";

export interface Segment {
  taskId: string;
  kind: SegmentKind;
  status: TaskStatus;
  attempt: number;
  visit: number;
  start: number;
  end: number;
  /** Still growing: it ends "now". */
  open: boolean;
}

export interface TimelineRow {
  stepKey: string;
  name: string;
  segments: Segment[];
}

export interface Timeline {
  start: number;
  end: number;
  rows: TimelineRow[];
}

const ms = (iso: string | null | undefined): number | null => {
  if (!iso) return null;
  const value = Date.parse(iso);
  return Number.isFinite(value) ? value : null;
};

/** The phases of one attempt that have begun by `now`. */
export function segmentsOf(task: TaskExecution, now: number): Segment[] {
  const base = { taskId: task.id, status: task.status, attempt: task.attempt_number, visit: task.visit };
  const created = ms(task.created_at);
  const queued = ms(task.queued_at);
  const started = ms(task.started_at);
  const completed = ms(task.completed_at);
  const wake = ms(task.wake_at);
  const segments: Segment[] = [];

  // A scheduled retry (a later attempt created with a wake time): from its creation until it was queued.
  if (created !== null && (task.status === "retrying" || (task.attempt_number > 1 && wake !== null && queued !== null))) {
    const end = queued ?? Math.max(now, created);
    segments.push({ ...base, kind: "backoff", status: "retrying", start: created, end, open: queued === null });
  }
  if (queued !== null) {
    const end = started ?? completed ?? (task.status === "queued" ? Math.max(now, queued) : queued);
    segments.push({ ...base, kind: "queued", status: "queued", start: queued, end, open: started === null && completed === null && task.status === "queued" });
  }
  if (started !== null) {
    const open = completed === null && (task.status === "running" || task.status === "waiting");
    const end = completed ?? (open ? Math.max(now, started) : started);
    segments.push({ ...base, kind: "run", start: started, end, open });
  }
  return segments;
}

/** Rows in the definition's order (steps that never ran keep an empty row), spanning the whole run. */
export function buildTimeline(
  steps: Pick<StepDefinition, "key" | "name">[],
  tasks: TaskExecution[],
  now: number,
  run?: { started_at: string | null; created_at: string; completed_at: string | null },
): Timeline {
  const byStep = attemptsByStep(tasks);
  const keys = [...steps.map((step) => step.key), ...[...byStep.keys()].filter((key) => !steps.some((s) => s.key === key))];
  const names = new Map(steps.map((step) => [step.key, step.name]));
  const rows: TimelineRow[] = keys.map((key) => ({
    stepKey: key,
    name: names.get(key) || key,
    segments: (byStep.get(key) ?? []).flatMap((task) => segmentsOf(task, now)),
  }));

  const all = rows.flatMap((row) => row.segments);
  const starts = all.map((segment) => segment.start);
  const ends = all.map((segment) => segment.end);
  const runStart = ms(run?.started_at) ?? ms(run?.created_at);
  const runEnd = ms(run?.completed_at);
  if (runStart !== null) starts.push(runStart);
  if (runEnd !== null) ends.push(runEnd);
  if (all.some((segment) => segment.open)) ends.push(now);
  const start = starts.length ? Math.min(...starts) : now;
  // At least one second wide, so a run of a few milliseconds still draws readable bars.
  const end = Math.max(start + 1000, ...ends);
  return { start, end, rows };
}

/** Where a segment sits, in percent of the timeline's width; never thinner than `minWidth` percent. */
export function place(timeline: Pick<Timeline, "start" | "end">, start: number, end: number, minWidth = 0.4): { left: number; width: number } {
  const span = timeline.end - timeline.start || 1;
  const left = Math.min(Math.max(((start - timeline.start) / span) * 100, 0), 100 - minWidth);
  const width = Math.min(Math.max(((end - start) / span) * 100, minWidth), 100 - left);
  return { left, width };
}

const TICK_STEPS = [
  100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
  1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000,
];

/** Evenly spaced offsets from the start (in ms), at a round step, at most `maxTicks` + 1 of them. */
export function ticks(span: number, maxTicks = 8): number[] {
  const step = TICK_STEPS.find((candidate) => span / candidate <= maxTicks) ?? Math.ceil(span / maxTicks / 86_400_000) * 86_400_000;
  const result: number[] = [];
  for (let offset = 0; offset <= span + 1e-6; offset += step) result.push(offset);
  return result;
}

/** An offset from the start of the run, as the axis shows it: "0", "500 ms", "15 s", "2 min", "1 h 30 min". */
export function formatOffset(offset: number): string {
  if (offset === 0) return "0";
  if (offset < 1000) return `${Math.round(offset)} ms`;
  if (offset < 60_000) return `${+(offset / 1000).toFixed(1)} s`;
  if (offset < 3_600_000) {
    const minutes = Math.floor(offset / 60_000);
    const seconds = Math.round((offset % 60_000) / 1000);
    return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
  }
  const hours = Math.floor(offset / 3_600_000);
  const minutes = Math.round((offset % 3_600_000) / 60_000);
  return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
}
