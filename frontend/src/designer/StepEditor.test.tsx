import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ReactFlowProvider, type NodeProps } from "@xyflow/react";
import type { ReactNode } from "react";

import type { StepNode as StepNodeType } from "@/lib/graph";
import { LIMITS } from "@/lib/__fixtures__/limits";
import type { StepDefinition } from "@/lib/types";
import { serverIssues } from "@/lib/validation";

import { STEP_TYPES } from "./__fixtures__/step-types";
import { DesignerContext } from "./context";
import { StepEditor } from "./NodeEditor";
import { StepNode } from "./nodes/StepNode";
import { createDesignerStore } from "./store";

const step = (key: string, task_type: string, config: Record<string, unknown>, depends_on: string[] = []): StepDefinition => ({
  key, name: key, task_type, config, depends_on, step_order: 0, when: "", position: { x: 0, y: 0 },
});

function wrap(store: ReturnType<typeof createDesignerStore>, children: ReactNode) {
  // The credentials query answers nothing here: no secrets to suggest.
  const client = new QueryClient({ defaultOptions: { queries: { retry: false, queryFn: async () => [] } } });
  return (
    <QueryClientProvider client={client}>
      <ReactFlowProvider>
        <DesignerContext.Provider value={store}>{children}</DesignerContext.Provider>
      </ReactFlowProvider>
    </QueryClientProvider>
  );
}

/** The store as it is once the server answered POST workflows/validate/ with these fields. */
function checked(store: ReturnType<typeof createDesignerStore>, fields: Record<string, string[]>) {
  const mapped = serverIssues(fields, store.getState().steps());
  store.getState().setServerErrors(mapped.byStep, mapped.general, store.getState().revision);
  return store;
}

function renderNode(store: ReturnType<typeof createDesignerStore>, key: string) {
  const node = store.getState().nodes.find((n) => n.id === key)!;
  const props = { id: key, data: node.data, selected: false, type: "step" } as unknown as NodeProps<StepNodeType>;
  return render(wrap(store, <StepNode {...props} />));
}

function renderEditor(store: ReturnType<typeof createDesignerStore>, key: string, sampleInput: Record<string, unknown> = {}) {
  const Editor = () => {
    const current = store.getState().nodes.find((n) => n.id === store.getState().selected)?.data.step;
    return current ? <StepEditor stepKey={current.key} step={current} sampleInput={sampleInput} /> : null;
  };
  store.getState().select([key]);
  const view = render(wrap(store, <Editor />));
  const unsubscribe = store.subscribe(() => view.rerender(wrap(store, <Editor />)));
  return { ...view, unsubscribe };
}

beforeEach(() => {
  vi.stubGlobal("fetch", vi.fn(async () => new Response("[]", { status: 200 })));
});

describe("step node", () => {
  it("shows its name, type and key, and a handle per branch", () => {
    const store = createDesignerStore({ steps: [step("plan", "conditional", { condition: "{{ input.pro }}" })], stepTypes: STEP_TYPES });
    const { container } = renderNode(store, "plan");
    const node = screen.getByTestId("node-plan");
    expect(node).toHaveAttribute("data-invalid", "false");
    expect(node).toHaveTextContent("plan");
    expect(node).toHaveTextContent("conditional");
    expect([...container.querySelectorAll(".react-flow__handle.source")].map((h) => h.getAttribute("data-handleid"))).toEqual(["true", "false", "failed"]);
    expect(within(node).getByText("true")).toBeInTheDocument();
  });

  it("is marked invalid with the count and the messages of its problems", () => {
    const store = checked(createDesignerStore({
      steps: [step("mail", "send_email", { to: "a@b.c", subject: "Hi {{ input.name" })], stepTypes: STEP_TYPES,
    }), {
      "steps.mail.config.subject": ["template does not parse: unexpected end of template, expected 'end of print statement'. (line 1)"],
      "steps.mail.config.body": ["this field is required"],
    });
    renderNode(store, "mail");
    const node = screen.getByTestId("node-mail");
    expect(node).toHaveAttribute("data-invalid", "true");
    expect(within(node).getByRole("img", { name: "2 problems" })).toHaveTextContent("2");
    expect(node.getAttribute("title")).toMatch(/config\.subject: template does not parse/);
    expect(node.getAttribute("title")).toMatch(/config\.body: this field is required/);
  });

  it("is marked with a warning, not invalid, when the server warns of a missing credential", () => {
    const store = createDesignerStore({
      steps: [step("crm", "http_request", { url: "https://x", auth: { type: "bearer", credential: "crm_tokn" } })],
      stepTypes: STEP_TYPES,
    });
    const warned = serverIssues({ "steps.crm.config.auth.credential": ["no credential named 'crm_tokn'"] },
                                store.getState().steps(), "warning");
    store.getState().setServerErrors(warned.byStep, [], store.getState().revision);
    renderNode(store, "crm");
    const node = screen.getByTestId("node-crm");
    expect(node).toHaveAttribute("data-invalid", "false");
    expect(node).toHaveAttribute("data-warning", "true");
    expect(node.getAttribute("title")).toMatch(/config.auth.credential: no credential named 'crm_tokn'/);
    expect(within(node).getByRole("img", { name: "1 warning" })).toBeInTheDocument();
  });

  it("marks the step the server names for a cycle", () => {
    const store = checked(createDesignerStore({
      steps: [step("a", "log", { message: "a" }, ["b"]), step("b", "log", { message: "b" }, ["a"])], stepTypes: STEP_TYPES,
    }), { "steps.a.depends_on": ["dependency cycle: a -> b -> a"] });
    renderNode(store, "a");
    expect(screen.getByTestId("node-a")).toHaveAttribute("data-invalid", "true");
    expect(screen.getByTestId("node-a").getAttribute("title")).toMatch(/cycle/);
  });
});

describe("step editor", () => {
  it("shows a missing required field next to the field, and clears it once filled", async () => {
    const user = userEvent.setup();
    const store = checked(createDesignerStore({ steps: [step("fetch", "http_request", {})], stepTypes: STEP_TYPES }),
      { "steps.fetch.config.url": ["this field is required"] });
    const { unsubscribe } = renderEditor(store, "fetch");
    const field = () => screen.getByLabelText("URL").closest(".fp-field") as HTMLElement;
    expect(within(field()).getByRole("alert")).toHaveTextContent("is required");
    await user.type(screen.getByLabelText("URL"), "https://api.example.com");
    expect(within(field()).queryByRole("alert")).toBeNull();
    expect(store.getState().nodes[0].data.step.config).toEqual({ url: "https://api.example.com" });
    unsubscribe();
  });

  it("renames the step by its key, refusing invalid and taken keys", async () => {
    const user = userEvent.setup();
    const store = createDesignerStore({
      steps: [step("a", "log", { message: "x" }), step("b", "log", { message: "{{ steps.a.output }}" }, ["a"])], stepTypes: STEP_TYPES,
      limits: LIMITS, // the step key's rule, as GET /api/v1/limits/ serves it
    });
    const { unsubscribe } = renderEditor(store, "a");
    const key = screen.getByLabelText("Key");
    await user.clear(key);
    await user.type(key, "1");
    expect(screen.getByText(/letters, digits and underscores/)).toBeInTheDocument();
    expect(store.getState().nodes[0].id).toBe("a");
    await user.clear(screen.getByLabelText("Key"));
    await user.type(screen.getByLabelText("Key"), "b");
    expect(screen.getByRole("alert")).toHaveTextContent('Another step has the key "b"');
    await user.type(screen.getByLabelText("Key"), "egin");
    expect(store.getState().nodes.map((n) => n.id)).toEqual(["begin", "b"]);
    expect(store.getState().steps()[1]).toMatchObject({ depends_on: ["begin"], config: { message: "{{ steps.begin.output }}" } });
    unsubscribe();
  });

  it("builds a conditional's condition with fields from the sample input and upstream outputs", async () => {
    const user = userEvent.setup();
    const store = checked(createDesignerStore({
      steps: [step("fetch", "http_request", { url: "u" }),
              step("route", "conditional", { condition: { field: "plan", operator: "gt" } }, ["fetch"])],
      stepTypes: STEP_TYPES,
    }), { "steps.route.config.condition": ["'value' is a required property"] });
    const { unsubscribe } = renderEditor(store, "route", { plan: "pro", customer: { tier: "gold" } });
    const builder = screen.getByRole("group", { name: "Condition" });
    const field = within(builder).getByLabelText("Field");
    const list = document.getElementById(field.getAttribute("list")!)!;
    const offered = [...list.querySelectorAll("option")].map((o) => o.getAttribute("value"));
    expect(offered).toEqual(expect.arrayContaining(["plan", "customer.tier", "steps.fetch.output.status_code"]));
    expect(screen.getByText("'value' is a required property")).toBeInTheDocument();
    await user.type(within(builder).getByLabelText("Value"), "10");
    expect(store.getState().nodes[1].data.step.config).toEqual({ condition: { field: "plan", operator: "gt", value: 10 } });
    unsubscribe();
  });

  it("offers upstream outputs after {{ and inserts one with Enter", async () => {
    const user = userEvent.setup();
    const store = createDesignerStore({
      steps: [step("fetch", "http_request", { url: "u" }), step("note", "log", { message: "" }, ["fetch"])], stepTypes: STEP_TYPES,
    });
    const { unsubscribe } = renderEditor(store, "note");
    const message = screen.getByLabelText("Message");
    await user.click(message);
    await user.type(message, "Got {{{{ steps.fetch.output.st");
    const options = screen.getAllByRole("option").map((o) => o.textContent);
    expect(options[0]).toMatch(/^steps\.fetch\.output\.status_code/);
    await user.keyboard("{Enter}");
    await act(async () => new Promise<void>((r) => requestAnimationFrame(() => r())));
    expect(store.getState().nodes[1].data.step.config.message).toBe("Got {{ steps.fetch.output.status_code }}");
    expect(screen.queryByRole("listbox")).toBeNull();
    unsubscribe();
  });
});
