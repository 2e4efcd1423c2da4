import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import type { Workflow } from "@/lib/types";

import { WorkflowSettingsDialog } from "./WorkflowSettingsDialog";

const workflow = {
  id: "w1", name: "Orders", description: "", status: "active", max_retries: null, retry_base_delay: null,
  retry_backoff_factor: null, retry_max_delay: null, max_concurrency: null, concurrency_key: "", search_fields: {},
  error_workflow_id: null,
} as unknown as Workflow;

const listed = [
  { id: "w1", name: "Orders", status: "active" },
  { id: "w2", name: "On error", status: "active" },
  { id: "w3", name: "Draft handler", status: "draft" },
];
const patches: unknown[] = [];

beforeEach(() => {
  patches.length = 0;
  vi.stubGlobal("fetch", vi.fn(async (_url: string, init?: RequestInit) => {
    if (init?.method === "PATCH") {
      const body = JSON.parse(String(init.body));
      patches.push(body);
      return new Response(JSON.stringify({ ...workflow, ...body }), { status: 200 });
    }
    return new Response(JSON.stringify({ count: listed.length, results: listed }), { status: 200 });
  }));
});

afterEach(() => vi.unstubAllGlobals());

describe("the workflow settings' error workflow", () => {
  it("offers your other active workflows and saves the choice", async () => {
    const user = userEvent.setup();
    const saved = vi.fn();
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <WorkflowSettingsDialog workflow={workflow} onClose={() => {}} onSaved={saved} />
      </QueryClientProvider>,
    );
    const picker = screen.getByLabelText("Error workflow");
    await waitFor(() => expect(within(picker).getAllByRole("option").map((o) => o.textContent)).toEqual(
      ["Your default (if you set one)", "On error"]));
    await user.selectOptions(picker, "w2");
    await user.click(screen.getByRole("button", { name: "Save settings" }));
    await waitFor(() => expect(saved).toHaveBeenCalled());
    expect(patches).toEqual([expect.objectContaining({ error_workflow_id: "w2" })]);
  });
});
