import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router";

import { codeToFlow } from "@/lib/graph";
import type { CodeGraph, Workflow } from "@/lib/types";

import { STEP_TYPES } from "./__fixtures__/step-types";
import { DesignerContext } from "./context";
import { DesignerHeader } from "./DesignerHeader";
import { NodeEditor } from "./NodeEditor";
import { createDesignerStore } from "./store";

const graph: CodeGraph = {
  workflow_class: "shop.workflows.OrderFulfillment", start: "confirm_payment", event_name: "", offset_minutes: 0,
  steps: [
    { key: "confirm_payment", start: true, action: "", timeout_seconds: null, retry: {}, compensate_with: "" },
    { key: "ship", start: false, action: "ship_order", timeout_seconds: 60, retry: { max_retries: 4 }, compensate_with: "" },
  ],
  edges: [{ source: "confirm_payment", target: "ship", kind: "goto" }],
};

const workflow: Workflow = {
  id: "w1", name: "order_fulfillment", description: "", status: "active", kind: "code", code: graph, version: 1,
  metadata: {}, owner: "flowpilot-code", max_concurrency: null, concurrency_key: "", search_fields: {}, limits: {}, max_retries: null,
  retry_base_delay: null, retry_backoff_factor: null, retry_max_delay: null, error_workflow_id: null, steps: [], warnings: null, paused: false,
  created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z",
};

function open() {
  const store = createDesignerStore({ stepTypes: STEP_TYPES });
  store.getState().load([], { name: workflow.name });
  store.getState().viewCode(1, codeToFlow(graph.steps, graph.edges));
  return store;
}

describe("a workflow defined in code, in the designer", () => {
  it("is shown read-only: nothing can be added, connected, edited or saved", () => {
    const store = open();
    const s = () => store.getState();
    expect(s().nodes.map((n) => n.id)).toEqual(["confirm_payment", "ship"]);
    expect(s().edges.map((e) => e.label)).toEqual(["goto"]);
    expect(s().issues).toEqual({});
    expect(s().addStep(STEP_TYPES[0], { x: 0, y: 0 })).toBe("");
    expect(s().connect({ source: "ship", target: "confirm_payment" })).toEqual({ ok: false, reason: expect.stringMatching(/defined in code/) });
    s().updateStep("ship", { name: "Ship it" });
    expect(s().nodes[1].data.step.name).toBe("ship");
    s().exitView();
    expect(s().viewing).toEqual({ version: 1, code: true });
    expect(s().revision).toBe(s().savedRevision);
  });

  it("heads the page with its class and only Executions and Run; the editor shows a step as its code declares it", () => {
    const store = open();
    store.getState().select(["ship"]);
    render(
      <MemoryRouter>
        <DesignerContext.Provider value={store}>
          <DesignerHeader workflow={workflow} busy={null} onSave={vi.fn()} onActivate={vi.fn()} onRun={vi.fn()} onVersions={vi.fn()} />
          <NodeEditor sampleInput={{}} />
        </DesignerContext.Provider>
      </MemoryRouter>,
    );
    expect(screen.getByText("Defined in code")).toBeInTheDocument();
    expect(screen.getByText("shop.workflows.OrderFulfillment")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Run" })).toBeEnabled();
    for (const name of ["Save", "Activate", "Versions"]) expect(screen.queryByRole("button", { name })).not.toBeInTheDocument();
    expect(screen.getByLabelText("Workflow name")).toBeDisabled();
    expect(screen.getByText("POST /api/v1/actions/ship_order/")).toBeInTheDocument();
    expect(screen.getByText("60 s")).toBeInTheDocument();
    expect(screen.getByText("confirm_payment")).toBeInTheDocument();
  });
});
