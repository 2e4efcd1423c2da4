import { summarize } from "./summary";
import type { Figures } from "./types";
import { executionsLink, metricsQuery, parseView, viewToParams } from "./window-params";

const WF = "0b7a8a84-3c31-4b8a-9f0e-2f4c1a6b5d10";

describe("the dashboard's URL", () => {
  it("reads the window and the workflow, defaulting to 24 hours and all workflows", () => {
    expect(parseView(new URLSearchParams(""))).toEqual({ window: "24h", workflow: "" });
    expect(parseView(new URLSearchParams(`window=7d&workflow=${WF}`))).toEqual({ window: "7d", workflow: WF });
  });

  it("ignores what the API would refuse", () => {
    expect(parseView(new URLSearchParams("window=2y&workflow=not-a-uuid"))).toEqual({ window: "24h", workflow: "" });
  });

  it("writes only what differs from the defaults, and reads back what it wrote", () => {
    expect(viewToParams({ window: "24h", workflow: "" }).toString()).toBe("");
    const params = viewToParams({ window: "15m", workflow: WF });
    expect(params.toString()).toBe(`window=15m&workflow=${WF}`);
    expect(parseView(params)).toEqual({ window: "15m", workflow: WF });
  });
});

describe("metricsQuery", () => {
  it("always names the window, and the workflow unless all are asked for", () => {
    expect(metricsQuery({ window: "1h", workflow: "" })).toEqual({ window: "1h" });
    expect(metricsQuery({ window: "1h", workflow: WF })).toEqual({ window: "1h", workflow: WF });
    expect(metricsQuery({ window: "1h", workflow: WF }, { all: true })).toEqual({ window: "1h" });
  });
});

describe("executionsLink", () => {
  it("opens the executions list filtered as that page reads its URL", () => {
    expect(executionsLink(WF, "failed")).toBe(`/executions?status=failed&workflow=${WF}`);
    expect(executionsLink("")).toBe("/executions");
  });
});

const figures = (id: string, name: string, runs: number, failures: number, p95: number | null): Figures => ({
  workflow_id: id, workflow_name: name, runs, failures, failure_rate: runs ? failures / runs : null, retries: 1,
  p50_ms: p95, p95_ms: p95, max_ms: p95, last_success_at: null,
});

describe("summarize", () => {
  const rows = [figures("a", "Patient registration", 10, 3, 800), figures("b", "Billing", 30, 0, 2500), figures("c", "Idle", 0, 0, null)];

  it("adds counts across workflows and reports the worst p95, saying whose", () => {
    expect(summarize(rows)).toEqual({ runs: 40, failures: 3, failureRate: 0.075, retries: 3, p95Ms: 2500, p95Of: "Billing" });
  });

  it("takes one workflow's figures when filtered", () => {
    expect(summarize(rows, "a")).toEqual({ runs: 10, failures: 3, failureRate: 0.3, retries: 1, p95Ms: 800, p95Of: null });
  });

  it("has no rate without runs", () => {
    expect(summarize(rows, "c").failureRate).toBeNull();
    expect(summarize([]).p95Ms).toBeNull();
  });
});
