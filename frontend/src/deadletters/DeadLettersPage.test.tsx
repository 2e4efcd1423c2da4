import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";

import { DeadLettersPage } from "./DeadLettersPage";

const W1 = "11111111-1111-1111-1111-111111111111";
const W2 = "22222222-2222-2222-2222-222222222222";
const RUN = "aaaaaaaa-0000-0000-0000-000000000001";
const TIMEOUT = `${W1}.crm.0123456789abcdef`;
const INVALID = `${W1}.crm.fedcba9876543210`;
const NOW = Date.parse("2026-12-04T12:00:00Z");

function group(id: string, workflowId: string, name: string, pattern: string, count: number) {
  return { id, workflow_id: workflowId, workflow_name: name, step_key: id.split(".")[1], signature: id.split(".")[2],
           pattern, sample_message: pattern.replace("<n>", "3001"), count, first_seen: "2026-12-04T10:00:00Z",
           last_seen: "2026-12-04T11:00:00Z", sample_execution_ids: [RUN] };
}

const calls: { method: string; url: string }[] = [];
let groups: ReturnType<typeof group>[];

beforeEach(() => {
  calls.length = 0;
  groups = [
    group(TIMEOUT, W1, "Signup", "CRM timeout after <n> ms", 3),
    group(INVALID, W1, "Signup", "CRM said: invalid email", 2),
    group(`${W2}.charge.00000000000000aa`, W2, "Orders", "card declined", 1),
  ];
  vi.stubGlobal("fetch", vi.fn(async (url: string, init?: RequestInit) => {
    const method = init?.method ?? "GET";
    calls.push({ method, url });
    if (method === "POST" && url.endsWith("/retry/")) {
      return new Response(JSON.stringify({ count: 3, execution_ids: [], refused: {}, remaining: 0 }), { status: 200 });
    }
    if (method === "POST" && url.endsWith("/dismiss/")) {
      groups = groups.filter((g) => g.id !== INVALID);
      return new Response(JSON.stringify({ count: 2, execution_ids: [], refused: {}, remaining: 0 }), { status: 200 });
    }
    return new Response(JSON.stringify({ groups }), { status: 200 });
  }));
});

afterEach(() => vi.unstubAllGlobals());

function renderPage() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter><DeadLettersPage now={NOW} /></MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("the Dead letters page", () => {
  it("lists the queues per workflow and error group, linking to the runs", async () => {
    renderPage();
    const signup = await screen.findByRole("region", { name: "Signup" });
    expect(within(signup).getAllByRole("row")).toHaveLength(3); // the head and two queues
    const timeout = screen.getByTestId(`dead-letter-${TIMEOUT}`);
    expect(timeout).toHaveTextContent("CRM timeout after <n> ms");
    expect(within(timeout).getByText("3")).toHaveAttribute("data-col", "count");
    expect(within(timeout).getByRole("link", { name: RUN.slice(0, 8) })).toHaveAttribute("href", `/executions/${RUN}?step=crm`);
    expect(within(signup).getByRole("link", { name: "all failed runs" })).toHaveAttribute(
      "href", `/executions?status=failed&workflow=${W1}`);
    expect(screen.getByRole("region", { name: "Orders" })).toHaveTextContent("card declined");
  });

  it("retries all of one queue after confirming", async () => {
    const user = userEvent.setup();
    renderPage();
    const timeout = await screen.findByTestId(`dead-letter-${TIMEOUT}`);
    await user.click(within(timeout).getByRole("button", { name: /^Retry all/ }));
    const dialog = screen.getByRole("dialog");
    expect(dialog).toHaveTextContent("Retry 3 runs?");
    await user.click(within(dialog).getByRole("button", { name: "Retry all" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls.filter((c) => c.method === "POST").map((c) => c.url)).toEqual(
      [`/api/v1/dead-letters/${encodeURIComponent(TIMEOUT)}/retry/`]);
  });

  it("dismisses a queue, which then leaves the list", async () => {
    const user = userEvent.setup();
    renderPage();
    const invalid = await screen.findByTestId(`dead-letter-${INVALID}`);
    await user.click(within(invalid).getByRole("button", { name: /^Dismiss/ }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Dismiss" }));
    await waitFor(() => expect(screen.queryByTestId(`dead-letter-${INVALID}`)).toBeNull());
    expect(calls.filter((c) => c.method === "POST").map((c) => c.url)).toEqual(
      [`/api/v1/dead-letters/${encodeURIComponent(INVALID)}/dismiss/`]);
    expect(screen.getByTestId(`dead-letter-${TIMEOUT}`)).toBeInTheDocument();
  });

  it("says so when nothing failed for good", async () => {
    groups = [];
    renderPage();
    expect(await screen.findByText("No dead letters")).toBeInTheDocument();
  });
});
