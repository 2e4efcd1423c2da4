import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";

import { useToasts } from "@/lib/toast";

import { TopErrors } from "./TopErrors";
import type { Errors } from "./types";

const WF = "0b7a8a84-3c31-4b8a-9f0e-2f4c1a6b5d10";
const DATA: Errors = {
  since: "2026-01-10T11:00:00Z",
  until: "2026-01-10T12:00:00Z",
  groups: [{
    signature: "a1b2c3d4e5f60718", pattern: "database overloaded while creating <name>", count: 3, executions: 3,
    first_seen: "2026-01-10T11:10:00Z", last_seen: "2026-01-10T11:55:00Z",
    sample_message: "database overloaded while creating Ada",
    steps: [{ workflow_id: WF, workflow_name: "Patient registration", step_key: "create_patient", count: 3 }],
  }],
};

type Call = { url: string; body: Record<string, unknown> };

function setup(answers: Array<() => Response>) {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", vi.fn(async (url: string, init: RequestInit) => {
    calls.push({ url, body: JSON.parse(String(init.body)) });
    return answers.shift()!();
  }));
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const invalidate = vi.spyOn(client, "invalidateQueries");
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter><TopErrors data={DATA} workflow={WF} now={Date.parse("2026-01-10T12:00:00Z")} /></MemoryRouter>
    </QueryClientProvider>,
  );
  return { calls, invalidate };
}

const json = (body: unknown, status = 200) => () => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

beforeEach(() => useToasts.setState({ toasts: [] }));
afterEach(() => vi.unstubAllGlobals());

describe("top errors", () => {
  it("shows the group: message, count, runs, steps hit with a link to their failed runs, first and last seen", () => {
    setup([]);
    const row = screen.getByTestId("error-a1b2c3d4e5f60718");
    expect(row).toHaveTextContent("database overloaded while creating Ada");
    expect(within(row).getByText("3", { selector: "[data-col=count]" })).toBeInTheDocument();
    expect(row).toHaveTextContent("50 min ago");
    expect(row).toHaveTextContent("5 min ago");
    const link = within(row).getByRole("link", { name: /Patient registration · create_patient/ });
    expect(link).toHaveAttribute("href", `/executions?status=failed&workflow=${WF}`);
  });

  it("retries a group: dry run, confirm with its count, retry, toast, refetch", async () => {
    const user = userEvent.setup();
    const ids = ["e1", "e2", "e3"];
    const { calls, invalidate } = setup([
      json({ retried: false, count: 3, execution_ids: ids }),
      json({ retried: true, count: 3, execution_ids: ids }),
    ]);
    await user.click(screen.getByRole("button", { name: "Retry these" }));

    const dialog = await screen.findByRole("dialog");
    expect(dialog).toHaveTextContent("Retry 3 failed runs?");
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe("/api/v1/metrics/errors/retry/");
    expect(calls[0].body).toEqual({ signature: "a1b2c3d4e5f60718", dry_run: true, workflow: WF, since: DATA.since });

    await user.click(within(dialog).getByRole("button", { name: "Retry 3 runs" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(calls).toHaveLength(2);
    expect(calls[1].body).toEqual({ signature: "a1b2c3d4e5f60718", dry_run: false, workflow: WF, since: DATA.since });
    expect(useToasts.getState().toasts.map((t) => [t.kind, t.message])).toEqual([["info", "Retried 3 runs with this error."]]);
    expect(invalidate).toHaveBeenCalledWith({ queryKey: ["metrics"] });
    expect(invalidate).toHaveBeenCalledWith({ queryKey: ["executions", "list"] });
  });

  it("retries nothing when the dialog is cancelled", async () => {
    const user = userEvent.setup();
    const { calls } = setup([json({ retried: false, count: 2, execution_ids: ["e1", "e2"] })]);
    await user.click(screen.getByRole("button", { name: "Retry these" }));
    await user.click(within(await screen.findByRole("dialog")).getByRole("button", { name: /Cancel/ }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(calls).toHaveLength(1);
    expect(calls[0].body.dry_run).toBe(true);
  });

  it("says so when no run is left to retry, and sends no retry", async () => {
    const user = userEvent.setup();
    const { calls } = setup([json({ retried: false, count: 0, execution_ids: [] })]);
    await user.click(screen.getByRole("button", { name: "Retry these" }));
    const dialog = await screen.findByRole("dialog");
    expect(dialog).toHaveTextContent("Nothing to retry");
    await user.click(within(dialog).getByRole("button", { name: "Close" }));
    expect(calls).toHaveLength(1);
  });

  it("reports a refused retry in an error toast", async () => {
    const user = userEvent.setup();
    setup([
      json({ retried: false, count: 1, execution_ids: ["e1"] }),
      json({ message: "Invalid input: signature: bad" }, 400),
    ]);
    await user.click(screen.getByRole("button", { name: "Retry these" }));
    await user.click(within(await screen.findByRole("dialog")).getByRole("button", { name: "Retry 1 run" }));
    await waitFor(() => expect(useToasts.getState().toasts).toHaveLength(1));
    expect(useToasts.getState().toasts[0]).toMatchObject({ kind: "error", message: "Retry failed: Invalid input: signature: bad" });
  });
});
