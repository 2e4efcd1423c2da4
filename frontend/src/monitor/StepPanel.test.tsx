import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { RunOverrides, StepPanel } from "./StepPanel";
import { execution, task } from "./test-fixtures";

type Call = { url: string; method: string; body: unknown };

function setup(attempt: ReturnType<typeof task>, answer: (call: Call) => Response) {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", vi.fn(async (url: string, init: RequestInit = {}) => {
    if (url.startsWith("/api/v1/limits/")) return new Response(JSON.stringify({ approval_comment: { min: 0, max: 2000 } }));
    const call = { url, method: init.method ?? "GET", body: init.body ? JSON.parse(String(init.body)) : undefined };
    calls.push(call);
    return answer(call);
  }));
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <StepPanel executionId="run-1" step={undefined} stepKey={attempt.step_key} attempts={[attempt]} logs={[]} now={Date.now()} onClose={() => {}} />
    </QueryClientProvider>,
  );
  return { calls, user: userEvent.setup() };
}

const waitingApproval = () => task("approve", {
  task_type: "approval", status: "waiting", completed_at: null, awaiting: "approval", signal_name: "approval",
  output_data: { approval: true, message: "Refund 40 EUR?", on_timeout: "branch", approve_url: "http://x/approval-links/a/", reject_url: "http://x/approval-links/r/" },
});

afterEach(() => vi.unstubAllGlobals());

describe("the step panel of a waiting approval", () => {
  it("says it awaits approval, never shows the parked `approval: true`, and approves with a comment", async () => {
    const attempt = waitingApproval();
    const { calls, user } = setup(attempt, () => new Response(JSON.stringify({ status: "completed" })));
    expect(screen.getByTestId("step-awaiting")).toHaveTextContent("Awaiting approval");
    expect(screen.getByText("Refund 40 EUR?")).toBeInTheDocument();
    expect(screen.getByText("None yet: awaiting approval.")).toBeInTheDocument();
    expect(document.body.textContent).not.toContain('"approval": true');
    await user.type(screen.getByLabelText(/Comment/), "fine by me");
    await user.click(screen.getByRole("button", { name: "Approve" }));
    await waitFor(() => expect(calls.filter((c) => c.method === "POST")).toEqual([
      { url: `/api/v1/approvals/${attempt.id}/`, method: "POST", body: { approved: true, comment: "fine by me" } },
    ]));
  });

  it("shows the server's refusal (409) as it said it", async () => {
    const { user } = setup(waitingApproval(), () => new Response(JSON.stringify({ message: "this step is no longer waiting" }), { status: 409 }));
    await user.click(screen.getByRole("button", { name: "Reject" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("this step is no longer waiting");
  });

  it("offers no decision for a step that is not waiting", () => {
    setup(task("approve", { task_type: "approval", output_data: { branch: "approved" } }), () => new Response("{}"));
    expect(screen.queryByRole("button", { name: "Approve" })).not.toBeInTheDocument();
    expect(screen.queryByTestId("step-awaiting")).not.toBeInTheDocument();
  });
});

describe("the step panel of a decided approval", () => {
  it("says who decided, how and why", () => {
    setup(task("approve", {
      task_type: "approval", output_data: { branch: "rejected", decision: {
        approved: false, by: "ops@example.com", via: "link", comment: "Over budget", recipient: "ops@example.com", at: "2026-01-01T10:00:05Z" } },
    }), () => new Response("{}"));
    expect(screen.getByTestId("step-decision")).toHaveTextContent("Rejected by ops@example.com (by link)");
    expect(screen.getByText("“Over budget”")).toBeInTheDocument();
  });
});

describe("rerun from here and edit and resume in the step panel", () => {
  function panel(props: Partial<Parameters<typeof StepPanel>[0]>) {
    const client = new QueryClient();
    render(
      <QueryClientProvider client={client}>
        <StepPanel executionId="run-1" step={undefined} stepKey="crm" attempts={[task("crm")]} logs={[]} now={Date.now()}
                   onClose={() => {}} {...props} />
      </QueryClientProvider>,
    );
  }

  it("offers Rerun from here when the server allows a rerun, and calls back", async () => {
    const onRerun = vi.fn();
    panel({ canRerun: true, onRerun });
    await userEvent.click(screen.getByRole("button", { name: "Rerun from here" }));
    expect(onRerun).toHaveBeenCalledTimes(1);
  });

  it("offers no rerun when the server does not allow one", () => {
    panel({ canRerun: false, onRerun: vi.fn() });
    expect(screen.queryByRole("button", { name: "Rerun from here" })).not.toBeInTheDocument();
  });

  it("shows the step's config overridden for this run", () => {
    panel({ override: { url: "http://crm/v2" } });
    expect(screen.getByTestId("step-override")).toHaveTextContent("Config overridden for this run");
    expect(screen.getByTestId("step-override")).toHaveTextContent("http://crm/v2");
  });

  it("shows on the run who edited it, when, and what", () => {
    render(<RunOverrides execution={execution([], { overrides: { input: { email: "ada@x" }, steps: { crm: { config: {} } } },
                                                   overridden_by: "alice", overridden_at: "2026-01-01T10:00:05Z" })} />);
    const shown = screen.getByTestId("run-overrides");
    expect(shown).toHaveTextContent("By alice");
    expect(shown).toHaveTextContent("config of crm");
    expect(shown).toHaveTextContent("ada@x");
  });

  it("shows nothing for a run that was not edited", () => {
    render(<RunOverrides execution={execution([])} />);
    expect(screen.queryByTestId("run-overrides")).not.toBeInTheDocument();
  });
});

describe("the step panel of a compensation", () => {
  it("says which step the attempt undoes", () => {
    setup(task("refund", { compensates: "charge" }), () => new Response("{}"));
    expect(screen.getByTestId("attempt-compensates")).toHaveTextContent("Compensation of charge");
  });

  it("is silent for an ordinary step", () => {
    setup(task("charge"), () => new Response("{}"));
    expect(screen.queryByTestId("attempt-compensates")).not.toBeInTheDocument();
  });
});
