import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ReactFlowProvider } from "@xyflow/react";
import type { ReactNode } from "react";

import { stepIcon } from "@/components/step-icons";
import { LIMITS } from "@/lib/__fixtures__/limits";
import { DRAFT_TRIGGER, type Trigger } from "@/lib/triggers";
import type { StepDefinition } from "@/lib/types";

import { STEP_TYPES } from "./__fixtures__/step-types";
import { DesignerContext } from "./context";
import { NodeEditor } from "./NodeEditor";
import { createDesignerStore } from "./store";

const step = (key: string, depends_on: string[] = [], x = 0): StepDefinition => ({
  key, name: key, task_type: "log", config: { message: "hi" }, depends_on, step_order: 0, when: "", position: { x, y: 0 },
});
const trigger = (id: string, over: Partial<Trigger> = {}): Trigger => ({
  id, workflow: "w", type: "webhook", name: "", enabled: true, url: `http://example.test/hooks/${id}/`,
  require_signature: true, include_headers: [], cron: "", timezone: "UTC", missed_fires: "skip", catch_up_limit: 3,
  last_fired_at: null, next_fire_times: null, event_name: "", offset_minutes: 0, created_at: "", updated_at: "", ...over,
});

function make(steps: StepDefinition[]) {
  const store = createDesignerStore({ steps, stepTypes: STEP_TYPES, limits: LIMITS });
  return { store, s: () => store.getState() };
}

describe("triggers in the designer store", () => {
  it("are start nodes apart from the steps: never in the definition, never undone", () => {
    const { s } = make([step("a"), step("b", ["a"], 300)]);
    const before = s().revision;
    s().setTriggers([trigger("t1")]);
    expect(s().triggerNodes.map((n) => n.id)).toEqual(["trigger:t1"]);
    expect(s().nodes.map((n) => n.id)).toEqual(["a", "b"]);
    expect(s().steps().map((st) => st.key)).toEqual(["a", "b"]);
    expect(s().revision).toBe(before);
    expect(s().past).toHaveLength(0);
  });

  it("a selected trigger opens its panel; selecting a step closes it, and the reverse", () => {
    const { s } = make([step("a"), step("b", ["a"], 300)]);
    s().setTriggers([trigger("t1")]);
    s().select(["a"]);
    s().onNodesChange([{ type: "select", id: "a", selected: false }, { type: "select", id: "trigger:t1", selected: true }]);
    expect(s().selectedTrigger).toBe("trigger:t1");
    expect(s().selected).toBeNull();
    s().onNodesChange([{ type: "select", id: "trigger:t1", selected: false }, { type: "select", id: "b", selected: true }]);
    expect(s().selectedTrigger).toBeNull();
    expect(s().selected).toBe("b");
  });

  it("moving a trigger node is not an edit of the workflow", () => {
    const { s } = make([step("a")]);
    s().setTriggers([trigger("t1")]);
    const revision = s().revision;
    s().onNodesChange([{ type: "position", id: "trigger:t1", position: { x: -50, y: 40 }, dragging: false }]);
    expect(s().triggerNodes[0].position).toEqual({ x: -50, y: 40 });
    expect(s().revision).toBe(revision);
    s().onNodesChange([{ type: "remove", id: "trigger:t1" }]);
    expect(s().triggerNodes).toHaveLength(1); // deleted through its panel (the API) only
  });

  it("a draft takes its drop point, and the created trigger takes the draft's place, selected", () => {
    const { s } = make([step("a")]);
    s().setTriggers([]);
    s().addTriggerDraft("schedule", { x: 10, y: 20 });
    expect(s().triggerNodes).toMatchObject([{ id: DRAFT_TRIGGER, position: { x: 10, y: 20 }, selected: true }]);
    expect(s().selectedTrigger).toBe(DRAFT_TRIGGER);
    s().endTriggerDraft(trigger("t9", { type: "schedule", cron: "0 9 * * *" }));
    expect(s().triggerNodes).toMatchObject([{ id: "trigger:t9", position: { x: 10, y: 20 }, selected: true }]);
    expect(s().selectedTrigger).toBe("trigger:t9");
    expect(s().triggerDraft).toBeNull();
    s().addTriggerDraft("event");
    s().endTriggerDraft();
    expect(s().triggerNodes.map((n) => n.id)).toEqual(["trigger:t9"]);
    expect(s().selectedTrigger).toBeNull();
  });

  it("adding a step closes the trigger panel and drops an unfinished draft", () => {
    const { s } = make([step("a")]);
    s().addTriggerDraft("webhook");
    s().addStep(STEP_TYPES.find((t) => t.name === "log")!, { x: 0, y: 200 });
    expect(s().selectedTrigger).toBeNull();
    expect(s().triggerNodes).toHaveLength(0);
  });
});

describe("the step panel with several steps selected", () => {
  function wrap(store: ReturnType<typeof createDesignerStore>, children: ReactNode) {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false, queryFn: async () => [] } } });
    return (
      <QueryClientProvider client={client}>
        <ReactFlowProvider>
          <DesignerContext.Provider value={store}>{children}</DesignerContext.Provider>
        </ReactFlowProvider>
      </QueryClientProvider>
    );
  }

  it("says how many, and deletes them together", async () => {
    const { store, s } = make([step("a"), step("b", ["a"], 300), step("c", ["b"], 600)]);
    s().select(["a", "b", "c"]);
    render(wrap(store, <NodeEditor sampleInput={{}} />));
    expect(screen.getByText("3 steps selected")).toBeInTheDocument();
    expect(screen.queryByText(/Select a step to edit it/)).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Delete 3 steps" }));
    expect(s().nodes).toHaveLength(0);
    expect(screen.getByText(/Add a step from the palette/)).toBeInTheDocument();
  });
});

describe("step icons", () => {
  it("differ for email, HTTP and Slack, and fall back to the category's", () => {
    const icons = ["send_email", "http_request", "slack"].map((name) => stepIcon(name, "integration"));
    expect(new Set(icons).size).toBe(3);
    expect(stepIcon("some_plugin_step", "integration")).toBe(stepIcon("another_plugin_step", "integration"));
    expect(stepIcon("some_plugin_step", "integration")).not.toBe(stepIcon("some_plugin_step", "data"));
  });
});
