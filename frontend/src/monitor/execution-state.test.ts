import { monitorFlow, needsLayout, progress, stepStatus, summarizeSteps } from "./execution-state";
import { SIGNUP_STEPS, step, task } from "./test-fixtures";

describe("summarizeSteps", () => {
  it("takes the attempt the server marks latest, and orders the rows, whatever order they come in", () => {
    const rows = [
      task("crm", { attempt_number: 3, status: "completed", created_at: "2026-01-01T10:00:09Z" }),
      task("crm", { attempt_number: 1, status: "failed", created_at: "2026-01-01T10:00:01Z", is_latest: false }),
      task("crm", { attempt_number: 2, status: "failed", created_at: "2026-01-01T10:00:05Z", is_latest: false }),
    ];
    const summary = summarizeSteps(rows).get("crm")!;
    expect(summary.status).toBe("completed");
    expect(summary.latest.attempt_number).toBe(3);
    expect(summary.attempts.map((row) => row.attempt_number)).toEqual([1, 2, 3]);
  });

  it("puts a later visit of a loop after every attempt of the earlier one", () => {
    const rows = [
      task("poll", { visit: 2, attempt_number: 1, status: "running" }),
      task("poll", { visit: 1, attempt_number: 2, status: "completed", is_latest: false }),
    ];
    expect(summarizeSteps(rows).get("poll")!.status).toBe("running");
  });

  it("counts as tried only rows that were queued or scheduled, not placeholders, skips or unstarted cancels", () => {
    const rows = [
      task("a", { status: "failed", is_latest: false }), task("a", { status: "retrying", attempt_number: 2, queued_at: null, started_at: null }),
      task("b", { status: "pending", queued_at: null, started_at: null }),
      task("c", { status: "cancelled", queued_at: null, started_at: null }),
    ];
    const summaries = summarizeSteps(rows);
    expect([summaries.get("a")!.tried, summaries.get("b")!.tried, summaries.get("c")!.tried]).toEqual([2, 0, 0]);
  });

  it("reads the server's mark rather than working the latest attempt out", () => {
    // Whatever the numbers say, the row marked is_latest is the one whose status the step shows.
    const rows = [
      task("crm", { attempt_number: 1, status: "running" }),
      task("crm", { attempt_number: 2, status: "failed", is_latest: false }),
    ];
    const summary = summarizeSteps(rows).get("crm")!;
    expect(summary.latest.attempt_number).toBe(1);
    expect(summary.status).toBe("running");
  });

  it("shows a step that has not been reached as pending", () => {
    expect(stepStatus(summarizeSteps([task("a")]), "b")).toBe("pending");
  });
});

describe("needsLayout", () => {
  it("is true only when every step sits at the origin", () => {
    expect(needsLayout([step("a"), step("b")])).toBe(true);
    expect(needsLayout([step("a"), step("b", [], { position: { x: 300, y: 0 } })])).toBe(false);
  });
});

describe("monitorFlow", () => {
  const rows = [
    task("send_welcome"),
    task("check_plan"),
    task("crm_pro", { status: "failed", attempt_number: 1, is_latest: false }),
    task("crm_pro", { status: "retrying", attempt_number: 2, started_at: null, completed_at: null, queued_at: null }),
    task("crm_basic", { status: "skipped", started_at: null, completed_at: null }),
  ];

  it("colours each node by its latest attempt and counts its attempts", () => {
    const { nodes } = monitorFlow(SIGNUP_STEPS, rows);
    const byKey = Object.fromEntries(nodes.map((node) => [node.id, node.data]));
    expect(byKey.send_welcome).toMatchObject({ status: "completed", attempts: 1 });
    expect(byKey.crm_pro).toMatchObject({ status: "retrying", attempts: 2 });
    expect(byKey.crm_basic).toMatchObject({ status: "skipped", attempts: 0 });
    expect(byKey.notify_slack).toMatchObject({ status: "pending", attempts: 0 });
  });

  it("lays out a definition without positions left to right, and keeps saved positions", () => {
    const laid = monitorFlow(SIGNUP_STEPS, rows).nodes;
    const x = Object.fromEntries(laid.map((node) => [node.id, node.position.x]));
    expect(x.check_plan).toBeGreaterThan(x.send_welcome);
    expect(x.notify_slack).toBeGreaterThan(x.join);

    const saved = [step("a", [], { position: { x: 10, y: 20 } }), step("b", ["a"], { position: { x: 400, y: 20 } })];
    expect(monitorFlow(saved, []).nodes.map((node) => node.position)).toEqual([{ x: 10, y: 20 }, { x: 400, y: 20 }]);
  });

  it("animates the edges into a running step and keeps branch labels", () => {
    const { edges } = monitorFlow(SIGNUP_STEPS, [task("send_welcome"), task("check_plan", { status: "running", completed_at: null })]);
    const into = edges.find((edge) => edge.target === "check_plan")!;
    expect(into.animated).toBe(true);
    expect(edges.find((edge) => edge.target === "crm_pro")).toMatchObject({ label: "pro", animated: false });
  });
});

describe("progress", () => {
  it("counts completed and skipped steps as done", () => {
    expect(progress(SIGNUP_STEPS, [task("send_welcome"), task("crm_basic", { status: "skipped" }), task("join", { status: "failed" })]))
      .toEqual({ done: 2, total: 6 });
  });
});
