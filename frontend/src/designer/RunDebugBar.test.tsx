import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";

import type { PinnedData, Workflow, WorkflowVersion } from "@/lib/types";
import { execution, step as versionStep, task } from "@/monitor/test-fixtures";

import { STEP_TYPES } from "./__fixtures__/step-types";
import { DesignerContext, PinsContext } from "./context";
import { RunDebugBar } from "./RunDebugBar";
import { createDesignerStore } from "./store";
import { versionSteps } from "./versions";

const RUN = execution([
  task("fetch", { output_data: { status_code: 200 }, input_data: { url: "http://crm" } }),
  task("notify", { status: "failed", input_data: { url: "http://bad" }, output_data: null }),
], { status: "failed", allowed_actions: ["retry", "cancel"], input_data: { name: "Ada" }, workflow_version: 2 });

const VERSION: WorkflowVersion = {
  number: 2, created_at: "2026-01-01T09:00:00Z", created_by: "admin",
  definition: { steps: [versionStep("fetch", [], { config: { url: "http://crm" } }),
                        versionStep("notify", ["fetch"], { config: { url: "http://bad" } })] },
} as unknown as WorkflowVersion;

const workflow = (version: number) => ({ id: RUN.workflow, version, steps: versionSteps(VERSION, new Map()) }) as unknown as Workflow;

function serve(routes: Record<string, (init?: RequestInit) => unknown>) {
  const calls: { url: string; method: string; body: unknown }[] = [];
  vi.stubGlobal("fetch", vi.fn(async (url: string, init?: RequestInit) => {
    const path = String(url).replace(/^\/api\/v1\//, "").split("?")[0];
    const method = init?.method ?? "GET";
    calls.push({ url: path, method, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    const answer = routes[`${method} ${path}`];
    if (!answer) return new Response(JSON.stringify({ message: `no route ${method} ${path}` }), { status: 404 });
    return new Response(JSON.stringify(answer(init)), { status: 200, headers: { "Content-Type": "application/json" } });
  }));
  return calls;
}

function mount(version: number, props: { onViewVersion?: (v: WorkflowVersion) => void; onResumed?: () => void } = {}) {
  const store = createDesignerStore({ steps: versionSteps(VERSION, new Map()), stepTypes: STEP_TYPES });
  store.getState().setPins({ input: {}, steps: {}, source_execution: null });
  const save = vi.fn(async (pins: PinnedData) => store.getState().setPins(pins));
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const ui = (children: ReactNode) => (
    <QueryClientProvider client={client}>
      <MemoryRouter>
        <DesignerContext.Provider value={store}><PinsContext.Provider value={save}>{children}</PinsContext.Provider></DesignerContext.Provider>
      </MemoryRouter>
    </QueryClientProvider>
  );
  render(ui(<RunDebugBar executionId={RUN.id} workflow={workflow(version)} pinsLoaded
                         onViewVersion={props.onViewVersion ?? (() => {})} onResumed={props.onResumed ?? (() => {})} />));
  return { store, save };
}

const routes = {
  [`GET executions/${RUN.id}/`]: () => RUN,
  [`GET workflows/${RUN.workflow}/versions/`]: () => [VERSION],
  [`POST executions/${RUN.id}/retry/`]: () => ({ ...RUN, status: "running", allowed_actions: ["cancel"] }),
};

describe("a run opened in the designer", () => {
  it("pins the run's data on the workflow and offers to resume it with the fix", async () => {
    const calls = serve(routes);
    const onResumed = vi.fn();
    const { store, save } = mount(2, { onResumed });
    await screen.findByText(/its recorded data is pinned on the steps/);
    expect(save).toHaveBeenCalledWith({
      input: { name: "Ada" }, source_execution: RUN.id,
      steps: { fetch: { input: { url: "http://crm" }, output: { status_code: 200 } }, notify: { input: { url: "http://bad" } } },
    });

    store.getState().updateStep("notify", { config: { url: "http://good" } });
    await userEvent.click(await screen.findByRole("button", { name: "Resume run with this fix" }));
    await waitFor(() => expect(onResumed).toHaveBeenCalled());
    const retry = calls.find((c) => c.method === "POST")!;
    expect(retry).toEqual({ url: `executions/${RUN.id}/retry/`, method: "POST",
                            body: { overrides: { steps: { notify: { config: { url: "http://good" } } } } } });
  });

  it("shows a run of an older version read-only, without resume", async () => {
    serve(routes);
    const onViewVersion = vi.fn();
    mount(3, { onViewVersion });
    await waitFor(() => expect(onViewVersion).toHaveBeenCalledWith(VERSION));
    expect(screen.getByText(/the run's version is shown read-only/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Resume run with this fix" })).toBeNull();
  });
});
