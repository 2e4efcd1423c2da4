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

describe("the workflow settings' limits", () => {
  function open(stored: Workflow, onSaved = vi.fn()) {
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <WorkflowSettingsDialog workflow={stored} onClose={() => {}} onSaved={onSaved} />
      </QueryClientProvider>,
    );
    return onSaved;
  }

  it("shows the stored limits and saves all four parts as the server reads them", async () => {
    const user = userEvent.setup();
    const saved = open({ ...workflow, limits: { concurrency: { key: "{{ input.tenant }}", max: 2 } } } as unknown as Workflow);
    expect(screen.getByLabelText("Concurrency limit max running")).toHaveValue("2");
    expect(screen.getByLabelText("Concurrency limit key")).toHaveValue("{{ input.tenant }}");
    await user.type(screen.getByLabelText("Concurrency limit shared name"), "ehr");
    await user.type(screen.getByLabelText("Rate limit starts"), "5");
    await user.type(screen.getByLabelText("Rate limit per (s)"), "1");
    await user.type(screen.getByLabelText("Rate limit shared name"), "sms-provider");
    await user.type(screen.getByLabelText("Debounce window (s)"), "60");
    await user.type(screen.getByLabelText("Debounce key"), "{{{{ input.user_id }}");
    await user.type(screen.getByLabelText("Priority"), "{{{{ input.tier }}");
    await user.click(screen.getByRole("button", { name: "Save settings" }));
    await waitFor(() => expect(saved).toHaveBeenCalled());
    expect(patches).toEqual([expect.objectContaining({ limits: {
      concurrency: { key: "{{ input.tenant }}", max: 2, name: "ehr" },
      rate: { limit: 5, per_seconds: 1, name: "sms-provider" },
      debounce: { key: "{{ input.user_id }}", seconds: 60 },
      priority: "{{ input.tier }}",
    } })]);
  });

  it("sends no part left blank, and shows the server's field errors next to the fields", async () => {
    const user = userEvent.setup();
    vi.stubGlobal("fetch", vi.fn(async (_url: string, init?: RequestInit) => {
      if (init?.method === "PATCH") {
        patches.push(JSON.parse(String(init.body)));
        return new Response(JSON.stringify({ detail: "invalid", fields: {
          "limits.rate.limit": ["must be between 1 and 100000"], "limits.rate.per_seconds": ["is required"] } }),
        { status: 400 });
      }
      return new Response(JSON.stringify({ count: 0, results: [] }), { status: 200 });
    }));
    const saved = open(workflow);
    await user.type(screen.getByLabelText("Rate limit starts"), "0");
    await user.click(screen.getByRole("button", { name: "Save settings" }));
    expect(await screen.findByText("must be between 1 and 100000")).toBeInTheDocument();
    expect(screen.getByText("is required")).toBeInTheDocument();
    expect(patches).toEqual([expect.objectContaining({ limits: { rate: { limit: 0 } } })]);
    expect(saved).not.toHaveBeenCalled();
  });
});
