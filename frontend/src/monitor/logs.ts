/** Pure log-line handling for the log viewer: levels, live events as log lines, merging and filtering. */
import type { LiveEvent } from "@/hooks/use-live-events";
import type { ExecutionLog, LogLevel } from "@/lib/types";

export const LOG_LEVELS: LogLevel[] = ["debug", "info", "warning", "error"];

/** True when `level` is `min` or more severe (the API's "this level and above"). */
export function atLeast(level: string, min: LogLevel): boolean {
  const index = LOG_LEVELS.indexOf(level as LogLevel);
  return (index < 0 ? 1 : index) >= LOG_LEVELS.indexOf(min);
}

/** A WebSocket event as the log line the REST API would give for it (the event id is the log row's id). */
export function logFromEvent(event: LiveEvent): ExecutionLog {
  return {
    id: event.id,
    timestamp: event.created_at,
    level: (LOG_LEVELS.includes(event.level as LogLevel) ? event.level : "info") as LogLevel,
    event: event.event,
    step_key: event.step_key ?? "",
    task_execution: event.task_id,
    message: event.message,
    details: event.details ?? {},
  };
}

const byTime = (a: ExecutionLog, b: ExecutionLog) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || a.id - b.id;

/** The union of two lists of log lines, each line once (by id), in time order. */
export function mergeLogs(fetched: ExecutionLog[], live: ExecutionLog[]): ExecutionLog[] {
  const seen = new Set(fetched.map((line) => line.id));
  const added = live.filter((line) => !seen.has(line.id) && (seen.add(line.id), true));
  if (!added.length) return fetched;
  return [...fetched, ...added].sort(byTime);
}

export interface LogFilter {
  level: LogLevel;
  stepKey?: string | null;
}

export function filterLogs(logs: ExecutionLog[], { level, stepKey }: LogFilter): ExecutionLog[] {
  return logs.filter((line) => atLeast(line.level, level) && (!stepKey || line.step_key === stepKey));
}

/** The offset that asks for the newest `limit` lines of `count`. */
export function lastPageOffset(count: number, limit: number): number {
  return Math.max(0, count - limit);
}
