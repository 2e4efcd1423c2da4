import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ReactFlowProvider, type NodeProps } from "@xyflow/react";
import type { ReactNode } from "react";

import type { StepNode as StepNodeType } from "@/lib/graph";
import type { PinnedData, StepDefinition } from "@/lib/types";

import { STEP_TYPES } from "./__fixtures__/step-types";
import { DesignerContext, PinsContext } from "./context";
import { StepEditor } from "./NodeEditor";
import { StepNode } from "./nodes/StepNode";
import { createDesignerStore } from "./store";

const step = (key: string, task_type: string, config: Record<string, unknown>, depends_on: string[] = []): StepDefinition => ({
  key, name: key, task_type, config, depends_on, step_order: 0, when: "", position: { x: 0, y: 0 },
});

const PINS: PinnedData = {
  input: { name: "Ada" },
  steps: { fetch: { input: { url: "http://crm" }, output: { status_code: 200, body: { id: 7 } } }, note: { input: { message: "x" } } },
  source_execution: "11111111-1111-1111-1111-111111111111",
};

type Store = ReturnType<typeof createDesignerStore>;

function wrap(store: Store, children: ReactNode, save: (pins: PinnedData) => Promise<unknown> = async () => {}) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false, queryFn: async () => [] } } });
  return (
    <QueryClientProvider client={client}>
      <ReactFlowProvider>
        <DesignerContext.Provider value={store}>
          <PinsContext.Provider value={save}>{children}</PinsContext.Provider>
        </DesignerContext.Provider>
      </ReactFlowProvider>
    </QueryClientProvider>
  );
}

function storeWithPins(pins: PinnedData | null = PINS) {
  const store = createDesignerStore({
    steps: [step("fetch", "http_request", { url: "http://crm" }), step("note", "log", { message: "id {{ steps.fetch.output.body.id }}" }, ["fetch"])],
    stepTypes: STEP_TYPES,
  });
  store.getState().setPins(pins);
  return store;
}

function renderEditor(store: Store, save?: (pins: PinnedData) => Promise<unknown>) {
  const Editor = () => {
    const current = store.getState().nodes.find((n) => n.id === store.getState().selected)?.data.step;
    return current ? <StepEditor key={current.key} stepKey={current.key} step={current} sampleInput={{ sample: true }} /> : null;
  };
  const view = render(wrap(store, <Editor />, save));
  const unsubscribe = store.subscribe(() => view.rerender(wrap(store, <Editor />, save)));
  return { ...view, unsubscribe };
}

beforeEach(() => {
  vi.stubGlobal("fetch", vi.fn(async () => new Response("[]", { status: 200 })));
});

describe("pinned data on the node", () => {
  function renderNode(store: Store, key: string) {
    const node = store.getState().nodes.find((n) => n.id === key)!;
    const props = { id: key, data: node.data, selected: false, type: "step" } as unknown as NodeProps<StepNodeType>;
    return render(wrap(store, <StepNode {...props} />));
  }

  it("shows a step's pinned output, or that only its input is pinned", () => {
    const store = storeWithPins();
    renderNode(store, "fetch");
    expect(screen.getByTestId("pin-fetch")).toHaveTextContent('{"status_code":200,"body":{"id":7}}');
    renderNode(store, "note");
    expect(screen.getByTestId("pin-note")).toHaveTextContent("input only");
  });

  it("shows nothing when nothing is pinned", () => {
    renderNode(storeWithPins(null), "fetch");
    expect(screen.queryByTestId("pin-fetch")).toBeNull();
  });
});

describe("Test this step with pinned data", () => {
  it("starts from the pinned input and the upstream step's pinned output", () => {
    const store = storeWithPins();
    act(() => store.getState().select(["note"]));
    const { unsubscribe } = renderEditor(store);
    const editor = screen.getByLabelText("Step note");
    expect(JSON.parse((within(editor).getByLabelText("Sample input") as HTMLTextAreaElement).value)).toEqual({ name: "Ada" });
    expect(JSON.parse((within(editor).getByLabelText(/^Upstream outputs/) as HTMLTextAreaElement).value))
      .toEqual({ fetch: { output: { status_code: 200, body: { id: 7 } } } });
    expect(within(editor).getByTestId("pinned-upstream")).toHaveTextContent("fetch");
    unsubscribe();
  });

  it("sends them to the server as input and steps.<key>.output", async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({
      status: "completed", output: { message: "id 7" }, error: null, error_details: null, traceback: "",
      rendered_config: { message: "id 7" }, logs: [], duration_ms: 1,
    }), { status: 200, headers: { "Content-Type": "application/json" } }));
    vi.stubGlobal("fetch", fetchMock);
    const store = storeWithPins();
    act(() => store.getState().select(["note"]));
    const { unsubscribe } = renderEditor(store);
    await userEvent.click(screen.getByRole("button", { name: "Test step" }));
    await screen.findByLabelText("Test result");
    const [url, init] = (fetchMock.mock.calls as unknown as [string, RequestInit][]).find(([u]) => String(u).includes("/try/"))!;
    expect(String(url)).toContain("step-types/log/try/");
    expect(JSON.parse(String(init.body))).toMatchObject({
      input: { name: "Ada" }, steps: { fetch: { output: { status_code: 200, body: { id: 7 } } } },
    });
    unsubscribe();
  });

  it("pins the sample input, and a test's output for the steps downstream", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({
      status: "completed", output: { message: "id 7" }, error: null, error_details: null, traceback: "",
      rendered_config: { message: "id 7" }, logs: [], duration_ms: 1,
    }), { status: 200, headers: { "Content-Type": "application/json" } })));
    const store = storeWithPins();
    const save = vi.fn(async (pins: PinnedData) => store.getState().setPins(pins));
    act(() => store.getState().select(["note"]));
    const { unsubscribe } = renderEditor(store, save);
    fireEvent.change(screen.getByLabelText("Sample input"), { target: { value: '{"name": "Bo"}' } });
    await userEvent.click(screen.getByRole("button", { name: "Pin this input" }));
    expect(save).toHaveBeenLastCalledWith({ ...PINS, input: { name: "Bo" } });
    await userEvent.click(screen.getByRole("button", { name: "Test step" }));
    await userEvent.click(await screen.findByRole("button", { name: "Pin this output" }));
    expect(save).toHaveBeenLastCalledWith({
      ...PINS, input: { name: "Bo" }, steps: { ...PINS.steps, note: { input: { message: "x" }, output: { message: "id 7" } } },
    });
    expect(store.getState().pins?.steps.note.output).toEqual({ message: "id 7" });
    unsubscribe();
  });

  it("keeps the sample input as typed when another step is selected and this one again", () => {
    const store = storeWithPins(null);
    act(() => store.getState().select(["note"]));
    const { unsubscribe } = renderEditor(store);
    const typed = JSON.stringify({ name: "Bo" });
    expect(JSON.parse((screen.getByLabelText("Sample input") as HTMLTextAreaElement).value)).toEqual({ sample: true });
    fireEvent.change(screen.getByLabelText("Sample input"), { target: { value: typed } });
    act(() => store.getState().select(["fetch"]));
    expect(screen.getByLabelText("Step fetch")).toBeInTheDocument();
    act(() => store.getState().select(["note"]));
    expect((screen.getByLabelText("Sample input") as HTMLTextAreaElement).value).toBe(typed);
    unsubscribe();
  });
});

describe("the pinned data panel", () => {
  it("shows the step's pinned output and saves an edit of it for the workflow", async () => {
    const store = storeWithPins();
    const save = vi.fn(async (pins: PinnedData) => store.getState().setPins(pins));
    act(() => store.getState().select(["fetch"]));
    const { unsubscribe } = renderEditor(store, save);
    const panel = screen.getByRole("region", { name: "Pinned data" });
    const output = within(panel).getByLabelText(/^Pinned output/) as HTMLTextAreaElement;
    expect(JSON.parse(output.value)).toEqual({ status_code: 200, body: { id: 7 } });
    fireEvent.change(output, { target: { value: '{"status_code": 404}' } });
    await userEvent.click(within(panel).getByRole("button", { name: "Save pin" }));
    expect(save).toHaveBeenCalledWith({ ...PINS, steps: { ...PINS.steps, fetch: { input: { url: "http://crm" }, output: { status_code: 404 } } } });
    expect(store.getState().pins?.steps.fetch.output).toEqual({ status_code: 404 });
    unsubscribe();
  });

  it("refuses text that is not JSON, saving nothing; Unpin drops the step's pin", async () => {
    const store = storeWithPins();
    const save = vi.fn(async (pins: PinnedData) => store.getState().setPins(pins));
    act(() => store.getState().select(["fetch"]));
    const { unsubscribe } = renderEditor(store, save);
    const panel = screen.getByRole("region", { name: "Pinned data" });
    fireEvent.change(within(panel).getByLabelText(/^Pinned output/), { target: { value: "{nope" } });
    await userEvent.click(within(panel).getByRole("button", { name: "Save pin" }));
    expect(within(panel).getByRole("alert")).toHaveTextContent("Not valid JSON");
    expect(save).not.toHaveBeenCalled();
    await userEvent.click(within(panel).getByRole("button", { name: "Unpin" }));
    expect(save).toHaveBeenCalledWith({ ...PINS, steps: { note: PINS.steps.note } });
    unsubscribe();
  });
});
