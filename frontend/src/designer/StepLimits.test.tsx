import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ReactFlowProvider } from "@xyflow/react";
import type { ReactNode } from "react";

import type { StepDefinition } from "@/lib/types";
import { serverIssues } from "@/lib/validation";

import { STEP_TYPES } from "./__fixtures__/step-types";
import { DesignerContext } from "./context";
import { StepEditor } from "./NodeEditor";
import { withLimit } from "./StepLimits";
import { createDesignerStore } from "./store";

const step = (key: string, task_type: string, extra: Partial<StepDefinition> = {}): StepDefinition => ({
  key, name: key, task_type, config: {}, depends_on: [], step_order: 0, when: "", position: { x: 0, y: 0 }, ...extra,
});

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

function renderEditor(store: ReturnType<typeof createDesignerStore>, key: string) {
  const Editor = () => {
    const current = store.getState().nodes.find((n) => n.id === store.getState().selected)?.data.step;
    return current ? <StepEditor stepKey={current.key} step={current} sampleInput={{}} /> : null;
  };
  store.getState().select([key]);
  const view = render(wrap(store, <Editor />));
  const unsubscribe = store.subscribe(() => view.rerender(wrap(store, <Editor />)));
  return { ...view, unsubscribe };
}

beforeEach(() => {
  vi.stubGlobal("fetch", vi.fn(async () => new Response("[]", { status: 200 })));
});

describe("a step's limits", () => {
  it("are offered for a step type that calls hosts only", () => {
    const store = createDesignerStore({ steps: [step("sms", "http_request"), step("note", "log")], stepTypes: STEP_TYPES });
    const first = renderEditor(store, "sms");
    expect(screen.getByTestId("step-limits")).toBeInTheDocument();
    first.unsubscribe();
    first.unmount();
    const second = renderEditor(store, "note");
    expect(screen.queryByTestId("step-limits")).not.toBeInTheDocument();
    second.unsubscribe();
  });

  it("edit limits.rate and limits.concurrency, dropping a part left empty", async () => {
    const user = userEvent.setup();
    const store = createDesignerStore({ steps: [step("sms", "http_request")], stepTypes: STEP_TYPES });
    const { unsubscribe } = renderEditor(store, "sms");
    const rate = screen.getByRole("group", { name: "Rate limit" });
    await user.type(within(rate).getByLabelText("Calls"), "5");
    await user.type(within(rate).getByLabelText("Per seconds"), "1");
    await user.type(within(rate).getByLabelText("Rate shared name"), "sms-provider");
    const concurrency = screen.getByRole("group", { name: "Concurrency limit" });
    await user.type(within(concurrency).getByLabelText("At once"), "2");
    const limits = () => store.getState().steps().find((s) => s.key === "sms")!.limits;
    expect(limits()).toEqual({ rate: { limit: 5, per_seconds: 1, name: "sms-provider" }, concurrency: { max: 2 } });
    await user.clear(within(concurrency).getByLabelText("At once"));
    expect(limits()).toEqual({ rate: { limit: 5, per_seconds: 1, name: "sms-provider" } });
    unsubscribe();
  });

  it("show the server's 400 field errors at their fields, and the others above", () => {
    const store = createDesignerStore({
      steps: [step("sms", "http_request", { limits: { rate: { limit: 0, per_seconds: 1 }, debounce: {} } })],
      stepTypes: STEP_TYPES,
    });
    const mapped = serverIssues({
      "steps.sms.limits.rate.limit": ["must be between 1 and 100000"],
      "steps.sms.limits.debounce": ["unknown; a step's limits are concurrency, rate"],
    }, store.getState().steps());
    store.getState().setServerErrors(mapped.byStep, mapped.general, store.getState().revision);
    const { unsubscribe } = renderEditor(store, "sms");
    const field = within(screen.getByRole("group", { name: "Rate limit" })).getByLabelText("Calls");
    expect(field).toHaveAttribute("aria-invalid", "true");
    expect(field.closest(".field")).toHaveTextContent("must be between 1 and 100000");
    expect(screen.getByTestId("step-limits")).toHaveTextContent("limits.debounce: unknown; a step's limits are concurrency, rate");
    unsubscribe();
  });

  it("keep a number the user is typing that is not one yet as text, for the server to refuse", () => {
    expect(withLimit(undefined, "rate", "limit", "5", true)).toEqual({ rate: { limit: 5 } });
    expect(withLimit({ rate: { limit: 5 } }, "rate", "limit", "", true)).toEqual({});
    expect(withLimit({ rate: { limit: 5 } }, "concurrency", "key", "{{ input.a }}", false))
      .toEqual({ rate: { limit: 5 }, concurrency: { key: "{{ input.a }}" } });
  });
});
