/** Failure paths ("key:failed") and continue on failure in the designer and the monitor (docs/adr/0032). */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ReactFlowProvider } from "@xyflow/react";
import { MemoryRouter } from "react-router";

import { handledFailuresLabel } from "@/components/ui";
import { dependencyEdge, flowToSteps, stepsToFlow } from "@/lib/graph";
import { LIMITS } from "@/lib/__fixtures__/limits";
import type { StepDefinition } from "@/lib/types";
import { ExecutionHeader } from "@/monitor/ExecutionHeader";
import { monitorFlow, progress } from "@/monitor/execution-state";
import { execution, step as versionStep, task } from "@/monitor/test-fixtures";

import { STEP_TYPES } from "./__fixtures__/step-types";
import { DesignerContext } from "./context";
import { StepEditor } from "./NodeEditor";
import { createDesignerStore } from "./store";

const step = (key: string, depends_on: string[] = []): StepDefinition => ({
  key, name: key, task_type: "log", config: { message: key }, depends_on, step_order: 0, when: "", position: { x: 0, y: 0 },
});

beforeEach(() => {
  vi.stubGlobal("fetch", vi.fn(async () => new Response("[]", { status: 200 })));
});

describe("failure paths in the designer", () => {
  it("draws an edge from the failed handle as the dependency key:failed, red and dashed, labelled on failure", () => {
    const store = createDesignerStore({ steps: [step("crm"), step("welcome", ["crm"]), step("review")], stepTypes: STEP_TYPES, limits: LIMITS });
    expect(store.getState().connect({ source: "crm", target: "review", sourceHandle: "failed" })).toEqual({ ok: true });
    const deps = Object.fromEntries(store.getState().steps().map((s) => [s.key, s.depends_on]));
    expect(deps).toEqual({ crm: [], welcome: ["crm"], review: ["crm:failed"] });
    expect(store.getState().edges.find((e) => e.target === "review")).toMatchObject({
      sourceHandle: "failed", label: "on failure", className: "fp-edge-failure", data: { branch: "failed" } });
    expect(dependencyEdge("crm", "welcome")).toMatchObject({ sourceHandle: null, label: undefined });
  });

  it("reads a saved failure path back as the same edge and writes it back unchanged", () => {
    const steps = [step("crm"), step("review", ["crm:failed"]), step("notify", ["review"])];
    const flow = stepsToFlow(steps);
    expect(flow.edges.map((e) => [e.id, e.label, e.className])).toEqual([
      ["crm:failed->review", "on failure", "fp-edge-failure"], ["review->notify", undefined, undefined]]);
    expect(flowToSteps(flow.nodes, flow.edges).map((s) => s.depends_on)).toEqual([[], ["crm:failed"], ["review"]]);
  });

  it("offers Continue on failure in the step panel, and names a failure path as such", async () => {
    const store = createDesignerStore({ steps: [step("crm"), step("review", ["crm:failed"])], stepTypes: STEP_TYPES, limits: LIMITS });
    const client = new QueryClient({ defaultOptions: { queries: { retry: false, queryFn: async () => [] } } });
    const Editor = ({ k }: { k: string }) => {
      const current = store.getState().nodes.find((n) => n.id === k)!.data.step;
      return <StepEditor stepKey={k} step={current} sampleInput={{}} />;
    };
    const wrap = (k: string) => (
      <QueryClientProvider client={client}><ReactFlowProvider>
        <DesignerContext.Provider value={store}><Editor k={k} /></DesignerContext.Provider>
      </ReactFlowProvider></QueryClientProvider>
    );
    const view = render(wrap("crm"));
    await userEvent.click(screen.getByLabelText(/Continue on failure/));
    expect(store.getState().steps().find((s) => s.key === "crm")!.continue_on_failure).toBe(true);
    view.unmount();
    render(wrap("review"));
    expect(screen.getByText("crm (on failure)")).toBeInTheDocument();
  });
});

describe("failure paths in the monitor", () => {
  it("draws the failure edge from the failed step's own handle, taken when the step failed", () => {
    const steps = [versionStep("crm"), versionStep("welcome", ["crm"]), versionStep("review", ["crm:failed"])];
    const flow = monitorFlow(steps, [task("crm", { status: "failed" }), task("welcome", { status: "skipped" }),
                                     task("review", { status: "completed" })]);
    const edges = Object.fromEntries(flow.edges.map((e) => [e.id, e]));
    expect(edges["crm:failed->review"]).toMatchObject({ sourceHandle: "failed", label: "on failure" });
    expect(edges["crm:failed->review"].className).toBe("fp-edge-failure monitor-edge-taken");
    expect(edges["crm->welcome"].className).toBeUndefined();
    expect(flow.nodes.find((n) => n.id === "crm")!.data.status).toBe("failed");
    const tasks = [task("crm", { status: "failed" }), task("welcome", { status: "skipped" }), task("review", { status: "completed" })];
    expect(progress(steps, tasks, ["crm"])).toEqual({ done: 3, total: 3 });
    expect(progress(steps, tasks)).toEqual({ done: 2, total: 3 });
  });

  it("says a completed run had handled failures, and how many", () => {
    expect(handledFailuresLabel({ status: "completed", handled_failures: [] })).toBe("");
    expect(handledFailuresLabel({ status: "completed", handled_failures: ["crm"] })).toBe("completed · 1 handled failure");
    expect(handledFailuresLabel({ status: "completed", handled_failures: ["crm", "sms"] })).toBe("completed · 2 handled failures");
    expect(handledFailuresLabel({ status: "failed", handled_failures: ["crm"] })).toBe("1 handled failure");
    render(
      <MemoryRouter>
        <ExecutionHeader execution={execution([], { status: "completed", allowed_actions: [], handled_failures: ["crm"] })}
                         live="open" now={Date.parse("2026-01-01T10:00:05Z")} progress={{ done: 3, total: 3 }}
                         showHelp={false} onToggleHelp={vi.fn()} onRetry={vi.fn()} onCancel={vi.fn()} />
      </MemoryRouter>,
    );
    expect(screen.getByTestId("handled-failures")).toHaveTextContent("completed · 1 handled failure");
    expect(screen.getByTestId("handled-failures").getAttribute("title")).toMatch(/crm/);
  });
});
