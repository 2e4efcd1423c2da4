import type { LiveEvent } from "@/hooks/use-live-events";

import { applyEvents, EventJournal } from "./live-patch";
import { execution, task } from "./test-fixtures";

const RUN = "11111111-1111-1111-1111-111111111111";

function event(taskId: string | null, name: string, status: string | undefined, extra: Partial<LiveEvent> = {}): LiveEvent {
  return { id: 1, event: name, level: "info", message: "", step_key: "s", task_id: taskId, execution_id: RUN,
           workflow_id: "w", created_at: "2026-01-01T10:00:05Z", status, ...extra };
}

describe("applyEvents", () => {
  const pending = () => execution([
    task("a", { id: "ta", status: "completed" }),
    task("b", { id: "tb", status: "pending", queued_at: null, started_at: null, completed_at: null }),
  ]);

  it("moves a known attempt to the event's status, with the time it moved", () => {
    const detail = pending();
    const queued = applyEvents(detail, [event("tb", "step.queued", "queued")]);
    expect(queued.task_executions[1]).toMatchObject({ status: "queued", queued_at: "2026-01-01T10:00:05Z", started_at: null });
    const done = applyEvents(queued, [event("tb", "step.started", "running", { created_at: "2026-01-01T10:00:06Z" }),
                                      event("tb", "step.completed", "completed", { created_at: "2026-01-01T10:00:07Z" })]);
    expect(done.task_executions[1]).toMatchObject({
      status: "completed", queued_at: "2026-01-01T10:00:05Z", started_at: "2026-01-01T10:00:06Z", completed_at: "2026-01-01T10:00:07Z",
    });
    // The other attempt is the same object: nothing that shows it re-renders.
    expect(done.task_executions[0]).toBe(detail.task_executions[0]);
    expect(detail.task_executions[1].status).toBe("pending");  // the cached run itself is never changed
  });

  it("answers the same run when nothing changes: log lines, another run, unknown attempts, same status", () => {
    const detail = pending();
    expect(applyEvents(detail, [
      event("tb", "step.log", undefined),
      event("tb", "step.queued", "queued", { execution_id: "another" }),
      event("t-new", "step.queued", "queued"),
      event("ta", "step.completed", "completed"),
      event(null, "execution.completed", "completed"),
    ])).toBe(detail);
  });

  it("leaves a retry to the refetch: its event is about the failed attempt, its status the next one's", () => {
    const detail = execution([task("a", { id: "ta", status: "failed" })]);
    expect(applyEvents(detail, [event("ta", "step.retry_scheduled", "retrying")])).toBe(detail);
  });
});

describe("EventJournal", () => {
  it("gives the transitions of its run that came after a mark, and forgets old ones", () => {
    const journal = new EventJournal(RUN, 60_000);
    journal.add([event("ta", "step.queued", "queued")], 0);
    const mark = journal.mark();
    journal.add([event("ta", "step.log", undefined), event("ta", "step.started", "running"),
                 event("tb", "step.queued", "queued", { execution_id: "another" })], 1_000);
    expect(journal.since(mark).map((e) => e.event)).toEqual(["step.started"]);
    expect(journal.since(0).map((e) => e.event)).toEqual(["step.queued", "step.started"]);
    journal.add([], 60_500);
    expect(journal.since(0).map((e) => e.event)).toEqual(["step.started"]);
  });
});
