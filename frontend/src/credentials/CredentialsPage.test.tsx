import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";

import { CredentialsPage } from "./CredentialsPage";

const REFUSAL = "credential 'crm_token' is used by 1 workflow: 'Signup'; change it first";
const calls: { method: string; url: string; body?: unknown }[] = [];
let listed: unknown[];

beforeEach(() => {
  calls.length = 0;
  listed = [
    { id: 1, name: "crm_token", description: "CRM", created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-02T00:00:00Z",
      used_by: [{ id: "w1", name: "Signup", steps: ["crm", "crm_retry"] }] },
    { id: 2, name: "spare", description: "", created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z", used_by: [] },
  ];
  vi.stubGlobal("fetch", vi.fn(async (url: string, init?: RequestInit) => {
    const method = init?.method ?? "GET";
    calls.push({ method, url, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    if (method === "DELETE" && url === "/api/v1/credentials/1/") {
      return new Response(JSON.stringify({ message: REFUSAL, used_by: [] }), { status: 409 });
    }
    if (method === "DELETE") return new Response(null, { status: 204 });
    if (method === "PATCH") return new Response(JSON.stringify({ ...(listed[1] as object) }), { status: 200 });
    return new Response(JSON.stringify({ count: listed.length, results: listed }), { status: 200 });
  }));
});

afterEach(() => vi.unstubAllGlobals());

function renderPage() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter><CredentialsPage /></MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("the Credentials page", () => {
  it("lists each credential with the workflows the server says use it", async () => {
    renderPage();
    const row = await screen.findByTestId("credential-crm_token");
    expect(within(row).getByRole("link", { name: "Signup" })).toHaveAttribute("href", "/workflows/w1");
    expect(row).toHaveTextContent("crm, crm_retry");
    expect(row).toHaveTextContent("CRM");
    expect(screen.getByTestId("credential-spare")).toHaveTextContent("No workflow");
  });

  it("shows the server's refusal of a delete, naming the workflows", async () => {
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Delete crm_token" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Delete" }));
    expect(await within(screen.getByRole("dialog")).findByRole("alert")).toHaveTextContent(REFUSAL);
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.url)).toEqual(["/api/v1/credentials/1/"]);
  });

  it("replaces a value write-only: an empty field, only the new value sent", async () => {
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Replace the value of spare" }));
    const dialog = screen.getByRole("dialog", { name: "Replace the value of spare" });
    expect(within(dialog).getByLabelText("New value")).toHaveValue("");
    expect(within(dialog).getByLabelText("New value")).toHaveAttribute("type", "password");
    await user.type(within(dialog).getByLabelText("New value"), "new-secret-1");
    await user.click(within(dialog).getByRole("button", { name: "Replace value" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls.find((c) => c.method === "PATCH")).toEqual({
      method: "PATCH", url: "/api/v1/credentials/2/", body: { value: "new-secret-1", description: "" } });
  });
});
