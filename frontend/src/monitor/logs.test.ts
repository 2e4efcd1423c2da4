import type { ExecutionLog } from "@/lib/types";

import { atLeast, filterLogs, lastPageOffset, logFromEvent, mergeLogs } from "./logs";

const line = (id: number, level: ExecutionLog["level"], step_key = "", second = id): ExecutionLog => ({
  id, level, step_key, event: "step.log", message: `line ${id}`, task_execution: null, details: {},
  timestamp: new Date(Date.UTC(2026, 0, 1, 10, 0, second)).toISOString(),
});

describe("log levels", () => {
  it("orders debug < info < warning < error", () => {
    expect(atLeast("error", "warning")).toBe(true);
    expect(atLeast("info", "warning")).toBe(false);
    expect(atLeast("debug", "debug")).toBe(true);
  });
  it("filters by level and by step", () => {
    const logs = [line(1, "debug", "a"), line(2, "info", "a"), line(3, "error", "b"), line(4, "warning", "a")];
    expect(filterLogs(logs, { level: "info" }).map((l) => l.id)).toEqual([2, 3, 4]);
    expect(filterLogs(logs, { level: "info", stepKey: "a" }).map((l) => l.id)).toEqual([2, 4]);
  });
});

describe("mergeLogs", () => {
  it("adds the live lines the page has not got, once each, in time order", () => {
    const fetched = [line(1, "info"), line(3, "info")];
    const merged = mergeLogs(fetched, [line(3, "info"), line(2, "info"), line(4, "info"), line(4, "info")]);
    expect(merged.map((l) => l.id)).toEqual([1, 2, 3, 4]);
  });
  it("returns the fetched list itself when nothing is new", () => {
    const fetched = [line(1, "info")];
    expect(mergeLogs(fetched, [line(1, "info")])).toBe(fetched);
  });
});

describe("logFromEvent", () => {
  it("maps a socket event onto the REST log shape", () => {
    expect(logFromEvent({
      id: 9, event: "step.failed", level: "error", message: "boom", step_key: "crm", task_id: "t1",
      execution_id: "e", workflow_id: "w", created_at: "2026-01-01T10:00:00Z", details: { code: 500 },
    })).toEqual({
      id: 9, event: "step.failed", level: "error", message: "boom", step_key: "crm", task_execution: "t1",
      timestamp: "2026-01-01T10:00:00Z", details: { code: 500 },
    });
  });
});

it("asks for the newest page of logs", () => {
  expect(lastPageOffset(1500, 1000)).toBe(500);
  expect(lastPageOffset(20, 1000)).toBe(0);
});
