/** Compensation (compensate_with) in the designer and the monitor (docs/adr/0035). */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ReactFlowProvider } from "@xyflow/react";
import { MemoryRouter } from "react-router";

import { compensationEdges, compensationSteps, flowToSteps, stepsToFlow } from "@/lib/graph";
import { LIMITS } from "@/lib/__fixtures__/limits";
import type { StepDefinition } from "@/lib/types";
import { ExecutionHeader } from "@/monitor/ExecutionHeader";
import { monitorFlow } from "@/monitor/execution-state";
import { execution, step as versionStep, task } from "@/monitor/test-fixtures";
import { Timeline } from "@/monitor/Timeline";

import { STEP_TYPES } from "./__fixtures__/step-types";
import { DesignerContext } from "./context";
import { StepEditor } from "./NodeEditor";
import { createDesignerStore } from "./store";

const step = (key: string, depends_on: string[] = [], extra: Partial<StepDefinition> = {}): StepDefinition => ({
  key, name: key, task_type: "log", config: { message: key }, depends_on, step_order: 0, when: "", position: { x: 0, y: 0 }, ...extra,
});

beforeEach(() => {
  vi.stubGlobal("fetch", vi.fn(async () => new Response("[]", { status: 200 })));
});

describe("compensation in the designer", () => {
  it("draws a dashed compensate link from a step to its compensation step, never saved as a dependency", () => {
    const steps = [step("charge", [], { compensate_with: "refund" }), step("ship", ["charge"]), step("refund")];
    const links = compensationEdges(steps);
    expect(links).toEqual([expect.objectContaining({
      source: "charge", target: "refund", sourceHandle: "compensate", label: "compensate", className: "fp-edge-compensation",
      deletable: false, data: { compensation: true } })]);
    expect([...compensationSteps(steps)]).toEqual(["refund"]);
    const flow = stepsToFlow(steps);
    const saved = flowToSteps(flow.nodes, [...flow.edges, ...links]);
    expect(saved.map((s) => [s.key, s.depends_on, s.compensate_with ?? ""])).toEqual([
      ["charge", [], "refund"], ["ship", ["charge"], ""], ["refund", [], ""]]);
    expect(compensationEdges([step("a", [], { compensate_with: "gone" })])).toEqual([]);
  });

  it("sets compensate_with in the step form; a rename follows it, a delete clears it", async () => {
    const store = createDesignerStore({ steps: [step("charge"), step("refund")], stepTypes: STEP_TYPES, limits: LIMITS });
    const client = new QueryClient({ defaultOptions: { queries: { retry: false, queryFn: async () => [] } } });
    const current = store.getState().nodes.find((n) => n.id === "charge")!.data.step;
    render(
      <QueryClientProvider client={client}><ReactFlowProvider>
        <DesignerContext.Provider value={store}><StepEditor stepKey="charge" step={current} sampleInput={{}} /></DesignerContext.Provider>
      </ReactFlowProvider></QueryClientProvider>,
    );
    const select = screen.getByLabelText("Compensate with");
    expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual(["None", "refund"]);
    await userEvent.selectOptions(select, "refund");
    const compensateOf = () => store.getState().steps().find((s) => s.key === "charge")!.compensate_with;
    expect(compensateOf()).toBe("refund");
    expect(store.getState().renameStep("refund", "refund_card")).toEqual({ ok: true });
    expect(compensateOf()).toBe("refund_card");
    store.getState().select(["refund_card"]);
    expect(store.getState().deleteSelected()).toBe(1);
    expect(compensateOf()).toBe("");
  });
});

describe("compensation in the monitor", () => {
  const steps = [versionStep("charge", [], { compensate_with: "refund" }), versionStep("ship", ["charge"]), versionStep("refund")];
  const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, seconds)).toISOString();
  const tasks = [
    task("charge", { queued_at: at(0), started_at: at(0), completed_at: at(1) }),
    task("ship", { status: "failed", queued_at: at(1), started_at: at(1), completed_at: at(2) }),
    task("refund", { compensates: "charge", queued_at: at(2), started_at: at(3), completed_at: at(4) }),
  ];

  it("marks compensation steps and draws their links from the compensate handle", () => {
    const flow = monitorFlow(steps, tasks);
    const link = flow.edges.find((e) => e.data?.compensation)!;
    expect(link).toMatchObject({ source: "charge", target: "refund", sourceHandle: "compensate" });
    expect(link.className).toContain("fp-edge-compensation");
    expect(flow.nodes.find((n) => n.id === "refund")!.data.compensation).toBe(true);
    expect(flow.nodes.find((n) => n.id === "ship")!.data.compensation).toBe(false);
  });

  it("shows the phase in the header and the compensations in a lane of their own", () => {
    const detail = execution(tasks, { status: "failed", phase: "compensated", allowed_actions: ["replay"], started_at: at(0) });
    render(
      <MemoryRouter>
        <ExecutionHeader execution={detail} live="open" now={Date.parse(at(5))} progress={{ done: 2, total: 3 }}
                         showHelp={false} onToggleHelp={vi.fn()} onRetry={vi.fn()} onCancel={vi.fn()} />
        <Timeline execution={detail} steps={steps} now={Date.parse(at(5))} selectedKey={null} onSelect={vi.fn()} />
      </MemoryRouter>,
    );
    expect(screen.getByTestId("execution-phase")).toHaveTextContent("compensated");
    const rows = screen.getAllByTestId(/^timeline-(row-|compensation)/).map((row) => row.dataset.testid);
    expect(rows).toEqual(["timeline-row-charge", "timeline-row-ship", "timeline-compensation", "timeline-row-refund"]);
  });

  it("leaves a compensation step that never ran out of the timeline", () => {
    const detail = execution(tasks.slice(0, 1), { started_at: at(0) });
    render(<Timeline execution={detail} steps={steps} now={Date.parse(at(5))} selectedKey={null} onSelect={vi.fn()} />);
    expect(screen.queryByTestId("timeline-row-refund")).not.toBeInTheDocument();
    expect(screen.queryByTestId("timeline-compensation")).not.toBeInTheDocument();
  });
});
