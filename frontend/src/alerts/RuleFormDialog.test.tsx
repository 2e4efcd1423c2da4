import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { RuleFormDialog } from "./RuleFormDialog";
import type { AlertRule } from "./types";

const WF = "0b7a8a84-3c31-4b8a-9f0e-2f4c1a6b5d10";
type Call = { url: string; method: string; body: unknown };

function setup(answer: (call: Call) => Response, rule?: AlertRule) {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", vi.fn(async (url: string, init: RequestInit = {}) => {
    const call = { url, method: init.method ?? "GET", body: init.body ? JSON.parse(String(init.body)) : undefined };
    if (call.url.startsWith("/api/v1/credentials/")) return new Response(JSON.stringify({ results: [{ name: "SLACK_WEBHOOK_URL" }] }));
    calls.push(call);
    return answer(call);
  }));
  const onSaved = vi.fn();
  const onClose = vi.fn();
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <RuleFormDialog rule={rule} workflows={[{ id: WF, name: "Patient registration" }]} onClose={onClose} onSaved={onSaved} />
    </QueryClientProvider>,
  );
  return { calls, onSaved, onClose, user: userEvent.setup() };
}

const created = (body: unknown) => new Response(JSON.stringify({ id: 7, state: "ok", ...(body as object) }), { status: 201 });
const field = (label: string) => screen.getByLabelText(label, { exact: false, selector: "input, select" });

afterEach(() => vi.unstubAllGlobals());

describe("the alert rule form", () => {
  it("shows what is wrong and sends nothing while the form is invalid", async () => {
    const { calls, onSaved, user } = setup(created);
    await user.clear(field("Threshold (%)"));
    await user.type(field("Threshold (%)"), "150");
    await user.click(screen.getByRole("button", { name: "+ Email" }));
    await user.type(screen.getByLabelText("Channel 1 email to"), "ops@example");
    await user.click(screen.getByRole("button", { name: "Create rule" }));

    expect(screen.getByText("Give the rule a name.")).toBeInTheDocument();
    expect(screen.getByText("A percentage from 0 up to (not including) 100.")).toBeInTheDocument();
    expect(screen.getByText("Not an email address: ops@example")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("Fix the fields marked above.");
    expect(calls).toEqual([]);
    expect(onSaved).not.toHaveBeenCalled();

    // Errors clear as the fields are fixed.
    await user.type(field("Name"), "Registrations failing");
    expect(screen.queryByText("Give the rule a name.")).not.toBeInTheDocument();
  });

  it("shows the fields of the chosen kind only", async () => {
    const { user } = setup(created);
    expect(field("Window (minutes)")).toBeInTheDocument();
    await user.selectOptions(field("Kind"), "no_success");
    expect(field("Hours without a success")).toHaveValue("24");
    expect(screen.queryByLabelText("Threshold (%)")).not.toBeInTheDocument();
    expect(screen.queryByLabelText("Window (minutes)")).not.toBeInTheDocument();
    await user.selectOptions(field("Kind"), "p95_duration");
    expect(field("Threshold (seconds)")).toHaveValue("60");
  });

  it("creates a valid rule with the percentage sent as a fraction and its channels", async () => {
    const { calls, onSaved, user } = setup((call) => created(call.body));
    await user.type(field("Name"), "Registrations failing");
    await user.selectOptions(field("Workflow"), WF);
    await user.clear(field("Threshold (%)"));
    await user.type(field("Threshold (%)"), "25");
    await user.clear(field("Minimum runs"));
    await user.type(field("Minimum runs"), "5");
    await user.click(screen.getByRole("button", { name: "+ Slack webhook" }));
    await user.type(screen.getByLabelText("Channel 1 credential"), "SLACK_WEBHOOK_URL");
    await user.click(screen.getByRole("button", { name: "+ Webhook (JSON POST)" }));
    await user.selectOptions(screen.getByLabelText("Channel 2 URL from"), "url");
    await user.type(screen.getByLabelText("Channel 2 URL"), "https://hooks.example.com/flowpilot");
    await user.click(screen.getByRole("button", { name: "Create rule" }));

    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ url: "/api/v1/alert-rules/", method: "POST" });
    expect(calls[0].body).toEqual({
      name: "Registrations failing", enabled: true, workflow_id: WF, step_key: "", kind: "failure_rate", threshold: 0.25,
      window_minutes: 15, min_runs: 5, hours: null, cooldown_minutes: 60,
      channels: [{ type: "slack", credential: "SLACK_WEBHOOK_URL" }, { type: "webhook", url: "https://hooks.example.com/flowpilot" }],
    });
    expect(onSaved.mock.calls[0][0]).toMatchObject({ id: 7, name: "Registrations failing" });
  });

  it("puts the server's field errors next to their fields", async () => {
    const { onSaved, user } = setup(() => new Response(JSON.stringify({
      message: "Invalid input: step_key: workflow 'Patient registration' has no step 'nope'",
      fields: { step_key: ["workflow 'Patient registration' has no step 'nope'"] },
    }), { status: 400 }));
    await user.type(field("Name"), "r");
    await user.selectOptions(field("Workflow"), WF);
    await user.type(field("Step key"), "nope");
    await user.click(screen.getByRole("button", { name: "Create rule" }));

    const stepField = (await screen.findByText("workflow 'Patient registration' has no step 'nope'")).closest("label")!;
    expect(within(stepField).getByRole("textbox")).toHaveValue("nope");
    expect(stepField).toHaveClass("invalid");
    expect(screen.getByRole("alert")).toHaveTextContent("Invalid input: step_key");
    expect(onSaved).not.toHaveBeenCalled();
  });

  it("edits a rule with PUT, starting from its values", async () => {
    const rule = {
      id: 3, name: "Slow", enabled: true, workflow_id: null, step_key: "", kind: "p95_duration", threshold: 90,
      window_minutes: 60, min_runs: 10, hours: null, cooldown_minutes: 30, channels: [{ type: "email", to: ["ops@example.com"] }],
      state: "firing",
    } as unknown as AlertRule;
    const { calls, onSaved, user } = setup((call) => new Response(JSON.stringify({ ...rule, ...(call.body as object) })), rule);
    expect(field("Threshold (seconds)")).toHaveValue("90");
    expect(screen.getByLabelText("Channel 1 email to")).toHaveValue("ops@example.com");
    await user.clear(field("Threshold (seconds)"));
    await user.type(field("Threshold (seconds)"), "120");
    await user.click(screen.getByRole("button", { name: "Save rule" }));
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(calls[0]).toMatchObject({ url: "/api/v1/alert-rules/3/", method: "PUT" });
    expect(calls[0].body).toMatchObject({ kind: "p95_duration", threshold: 120, window_minutes: 60, channels: [{ type: "email", to: ["ops@example.com"] }] });
  });
});
