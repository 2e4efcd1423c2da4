/** Live events applied to a cached run, so the header's count and the graph's colours follow the socket
 * instead of waiting for a refetch (a 500-step run's detail takes longer to fetch than events take to
 * come). Only what an event states is applied: a known attempt's new status and the time it moved; a
 * new attempt (a retry, a code workflow's next visit), outputs, errors and the run's own status come with
 * the next refetch, which the caller coalesces (docs/adr/0037-a-monitor-that-stays-live.md). */
import type { LiveEvent } from "@/hooks/use-live-events";
import type { ExecutionDetail, TaskExecution, TaskStatus } from "@/lib/types";

const TASK_STATUSES: ReadonlySet<string> = new Set<TaskStatus>([
  "pending", "queued", "running", "waiting", "retrying", "completed", "failed", "skipped", "cancelled",
]);
/** Events whose status is not their attempt's: a retry's line is about the attempt that failed, while
 * the status (retrying) is the new attempt's, a row the cache does not have yet. */
const NOT_THE_ATTEMPTS_STATUS: ReadonlySet<string> = new Set(["step.retry_scheduled"]);
const FINISHED: ReadonlySet<string> = new Set(["completed", "failed", "skipped", "cancelled"]);

/** The attempt as the event leaves it: its status, and the time the status gives (queued, started,
 * finished), when the event says when. */
function moved(task: TaskExecution, status: TaskStatus, at: string | null): TaskExecution {
  const next: TaskExecution = { ...task, status };
  if (!at) return next;
  if (status === "queued") return { ...next, queued_at: task.queued_at ?? at };
  if (status === "running") return { ...next, started_at: task.started_at ?? at, queued_at: task.queued_at ?? at };
  if (FINISHED.has(status)) return { ...next, completed_at: task.completed_at ?? at };
  return next;
}

/** The run with `events` applied in order (the same object when none changes anything, so nothing
 * re-renders). Attempts the run does not hold are left for the refetch. */
export function applyEvents(detail: ExecutionDetail, events: readonly LiveEvent[]): ExecutionDetail {
  let tasks: TaskExecution[] | null = null;
  let index: Map<string, number> | null = null;
  for (const event of events) {
    if (event.execution_id !== detail.id || !event.task_id || !event.status || !TASK_STATUSES.has(event.status)
        || NOT_THE_ATTEMPTS_STATUS.has(event.event)) continue;
    index ??= new Map(detail.task_executions.map((task, i) => [task.id, i]));
    const at = index.get(event.task_id);
    if (at === undefined) continue;
    const current = (tasks ?? detail.task_executions)[at];
    if (current.status === event.status) continue;
    tasks ??= [...detail.task_executions];
    tasks[at] = moved(current, event.status as TaskStatus, event.created_at ?? null);
  }
  return tasks ? { ...detail, task_executions: tasks } : detail;
}

/** The status events of one run, numbered as they arrive, kept a while so a refetch that started before
 * some of them can replay them over its answer (it may have read the database before they committed):
 * mark() when the fetch starts, since(mark) when it answers. */
export class EventJournal {
  private entries: { seq: number; at: number; event: LiveEvent }[] = [];
  private seq = 0;

  /** `executionId`: the run whose events it keeps (a journal belongs to one run). */
  constructor(readonly executionId: string, private readonly keepMs = 60_000, private readonly maxEntries = 20_000) {}

  add(events: readonly LiveEvent[], now = Date.now()): void {
    for (const event of events) {
      if (!event.status || event.execution_id !== this.executionId) continue;
      this.seq += 1;
      this.entries.push({ seq: this.seq, at: now, event });
    }
    const oldest = now - this.keepMs;
    let drop = 0;
    while (drop < this.entries.length && (this.entries[drop].at < oldest || this.entries.length - drop > this.maxEntries)) drop += 1;
    if (drop) this.entries = this.entries.slice(drop);
  }

  mark(): number {
    return this.seq;
  }

  since(mark: number): LiveEvent[] {
    return this.entries.filter((entry) => entry.seq > mark).map((entry) => entry.event);
  }
}
