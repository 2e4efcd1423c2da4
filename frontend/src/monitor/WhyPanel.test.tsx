import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router";

import type { ExecutionWhy, WhyReason } from "@/lib/types";

import { StepPanel } from "./StepPanel";
import { task } from "./test-fixtures";
import { StepWhy, WhyPanel } from "./WhyPanel";
import { showWhyPanel, stepReason } from "./why";

const HOLDER = "0b7c1f2e-1111-4a2b-9c3d-123456789abc";

function reason(extra: Partial<WhyReason>): WhyReason {
  return { step_key: null, reason: "running", detail: "", until: null, runs: [], queue: "", host: "", ...extra };
}

function why(status: ExecutionWhy["status"], ...reasons: WhyReason[]): ExecutionWhy {
  return { status, reasons };
}

describe("when the panel shows", () => {
  it("shows for a run in flight with something not running, never for a finished run or one all running", () => {
    expect(showWhyPanel(why("pending", reason({ reason: "concurrency" })))).toBe(true);
    expect(showWhyPanel(why("running", reason({ step_key: "a" }), reason({ step_key: "b", reason: "timer" })))).toBe(true);
    expect(showWhyPanel(why("running", reason({ step_key: "a" }), reason({ step_key: "b" })))).toBe(false);
    expect(showWhyPanel(why("failed", reason({ reason: "failed" }), reason({ step_key: "b", reason: "halted" })))).toBe(false);
    expect(showWhyPanel(undefined)).toBe(false);
  });

  it("finds a step's own reason", () => {
    const answer = why("running", reason({ step_key: "a", reason: "timer" }), reason({ step_key: "b", reason: "signal" }));
    expect(stepReason(answer, "b")?.reason).toBe("signal");
    expect(stepReason(answer, "c")).toBeUndefined();
  });
});

describe("the why panel", () => {
  it("lists the waiting reasons, not the running steps, with the runs holding a slot linked", () => {
    render(
      <MemoryRouter>
        <WhyPanel why={why("running",
          reason({ step_key: "fetch" }),
          reason({ step_key: "send", reason: "no_worker", detail: "queued 42 s ago; no worker listening on queue flowpilot.steps", queue: "flowpilot.steps" }),
          reason({ step_key: "after", reason: "upstream", detail: "waiting for step send to finish" }),
          reason({ step_key: "later", reason: "concurrency", detail: `waiting for a concurrency slot: all 1 held by run ${HOLDER}`, runs: [HOLDER] }),
        )} />
      </MemoryRouter>,
    );
    expect(screen.getByRole("heading", { name: "Why isn't it running?" })).toBeInTheDocument();
    expect(screen.queryByTestId("why-after")).not.toBeInTheDocument();
    expect(screen.getByTestId("why-upstream")).toHaveTextContent("1 more step waits for these: after");
    expect(screen.queryByTestId("why-fetch")).not.toBeInTheDocument();
    expect(screen.getByTestId("why-send")).toHaveTextContent("send No worker queued 42 s ago; no worker listening on queue flowpilot.steps");
    const link = screen.getByRole("link", { name: "#0b7c1f2e" });
    expect(link).toHaveAttribute("href", `/executions/${HOLDER}`);
    expect(screen.getByTestId("why-later")).toHaveTextContent("Concurrency waiting for a concurrency slot: all 1 held by run #0b7c1f2e");
  });

  it("shows the times the server gives in the user's time zone", () => {
    const at = new Date(Date.now() + 60_000);
    const iso = `${at.toISOString().slice(0, 19)}Z`;
    render(<MemoryRouter><StepWhy reason={reason({ step_key: "nap", reason: "timer", detail: `timer until ${iso}`, until: iso })} /></MemoryRouter>);
    const line = screen.getByTestId("step-why");
    expect(line).toHaveTextContent(`Timer timer until ${at.toLocaleTimeString(undefined, { timeStyle: "medium" })}`);
    expect(line.querySelector("time")).toHaveAttribute("datetime", iso);
  });

  it("shows the whole sentence when only steps waiting for others are left", () => {
    render(<MemoryRouter><WhyPanel why={why("running", reason({ step_key: "b", reason: "upstream", detail: "waiting for step a to finish" }))} /></MemoryRouter>);
    expect(screen.getByTestId("why-b")).toHaveTextContent("Upstream waiting for step a to finish");
  });
});

describe("the step panel of a waiting step", () => {
  it("says what the selected step waits for", () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("{}")));
    const attempt = task("paid", { task_type: "wait_for_signal", status: "waiting", completed_at: null, signal_name: "payment" });
    render(
      <QueryClientProvider client={new QueryClient()}>
        <MemoryRouter>
          <StepPanel executionId="run-1" step={undefined} stepKey="paid" attempts={[attempt]} logs={[]} now={Date.now()} onClose={() => {}}
                     why={reason({ step_key: "paid", reason: "signal", detail: "waiting for signal 'payment'" })} />
        </MemoryRouter>
      </QueryClientProvider>,
    );
    expect(screen.getByTestId("step-why")).toHaveTextContent("Signal waiting for signal 'payment'");
    vi.unstubAllGlobals();
  });

  it("says a step waits for its rate limit's next slot, in the user's time zone", () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("{}")));
    const at = new Date(Date.now() + 30_000);
    const iso = `${at.toISOString().slice(0, 19)}Z`;
    const attempt = task("sms", { task_type: "http_request", status: "pending", completed_at: null });
    render(
      <QueryClientProvider client={new QueryClient()}>
        <MemoryRouter>
          <StepPanel executionId="run-1" step={undefined} stepKey="sms" attempts={[attempt]} logs={[]} now={Date.now()} onClose={() => {}}
                     why={reason({ step_key: "sms", reason: "rate_limit", until: iso,
                                   detail: `waiting: rate limit sms-provider, next slot at ${iso}` })} />
        </MemoryRouter>
      </QueryClientProvider>,
    );
    const line = screen.getByTestId("step-why");
    expect(line).toHaveTextContent(
      `Rate limit waiting: rate limit sms-provider, next slot at ${at.toLocaleTimeString(undefined, { timeStyle: "medium" })}`);
    vi.unstubAllGlobals();
  });
});

describe("flow control in the why panel", () => {
  it("shows a run waiting for its rate limit's slot (the time in the user's zone) and a named limit's holders", () => {
    render(
      <MemoryRouter>
        <WhyPanel why={why("pending",
          reason({ reason: "rate_limit", detail: "waiting: rate limit sms-provider, next slot at 2026-01-01T10:00:05Z",
                   until: "2026-01-01T10:00:05Z" }),
        )} />
      </MemoryRouter>,
    );
    const line = screen.getByTestId("why-run");
    expect(line).toHaveTextContent("Rate limit");
    expect(line).toHaveTextContent("waiting: rate limit sms-provider, next slot at");
    expect(line.querySelector("time")?.getAttribute("dateTime")).toBe("2026-01-01T10:00:05Z");
  });

  it("links the runs holding a named concurrency limit's key", () => {
    render(
      <MemoryRouter>
        <WhyPanel why={why("pending", reason({
          reason: "concurrency", runs: [HOLDER],
          detail: `waiting for a concurrency slot: limit ehr key 'acme' has all 1 held by run ${HOLDER}` }))} />
      </MemoryRouter>,
    );
    expect(screen.getByTestId("why-run")).toHaveTextContent("limit ehr key 'acme' has all 1 held by run");
    expect(screen.getByRole("link", { name: `#${HOLDER.slice(0, 8)}` })).toHaveAttribute("href", `/executions/${HOLDER}`);
  });
});
