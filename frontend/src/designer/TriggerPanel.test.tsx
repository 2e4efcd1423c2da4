import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";

import { LIMITS } from "@/lib/__fixtures__/limits";

import { STEP_TYPES } from "./__fixtures__/step-types";
import { DesignerContext } from "./context";
import { createDesignerStore } from "./store";
import { triggerFields, TriggerPanel } from "./TriggerPanel";

function wrap(store: ReturnType<typeof createDesignerStore>, children: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return (
    <MemoryRouter>
      <QueryClientProvider client={client}>
        <DesignerContext.Provider value={store}>{children}</DesignerContext.Provider>
      </QueryClientProvider>
    </MemoryRouter>
  );
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

afterEach(() => vi.restoreAllMocks());

describe("the schedule panel", () => {
  it("shows the server's words and fire times, the DST change marked, and the server's reason for a bad cron", async () => {
    const asked: unknown[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (_url, init) => {
      const body = JSON.parse(String(init?.body));
      asked.push(body);
      if (body.cron.startsWith("61")) return json(400, { message: "cron: invalid cron expression", fields: { cron: ["bad minute"] } });
      return json(200, {
        description: "At 02:30", timezone: body.timezone, next: [
          { at: "2026-03-28T02:30:00+01:00", utc: "2026-03-28T01:30:00+00:00", offset: "UTC+01:00", dst_change: null, skipped_wall_time: false },
          { at: "2026-03-29T03:30:00+02:00", utc: "2026-03-29T01:30:00+00:00", offset: "UTC+02:00",
            dst_change: "clocks changed from UTC+01:00 to UTC+02:00", skipped_wall_time: true },
        ],
      });
    });
    const store = createDesignerStore({ steps: [], stepTypes: STEP_TYPES, limits: LIMITS });
    store.getState().addTriggerDraft("schedule");
    render(wrap(store, <TriggerPanel workflowId="w1" onUseSample={async () => {}} />));
    const cron = screen.getByTestId("schedule-cron");
    fireEvent.change(cron, { target: { value: "30 2 * * *" } });
    fireEvent.change(screen.getByTestId("schedule-timezone"), { target: { value: "Europe/Paris" } });
    await waitFor(() => expect(screen.getByTestId("cron-description")).toHaveTextContent("At 02:30"));
    await waitFor(() => expect(screen.getByTestId("next-fires")).toHaveAttribute("data-zone", "Europe/Paris"));
    expect(screen.getByText("Sun 29 Mar 2026, 03:30 (UTC+02:00)")).toBeInTheDocument();
    expect(screen.getByText("DST: clocks changed from UTC+01:00 to UTC+02:00")).toBeInTheDocument();
    expect(screen.getByText(/the clock skips this wall time/)).toBeInTheDocument();
    expect(asked.at(-1)).toEqual({ cron: "30 2 * * *", timezone: "Europe/Paris", count: 5 });

    fireEvent.change(cron, { target: { value: "61 2 * * *" } });
    await waitFor(() => expect(screen.getByText("cron: invalid cron expression")).toBeInTheDocument());
  }, 20_000);
});

describe("the fields sent for a trigger", () => {
  const form = {
    name: " Nightly ", enabled: true, require_signature: false, include_headers: " X-Source, ,User-Agent ",
    cron: " 0 9 * * * ", timezone: "Europe/Paris ", missed_fires: "catch_up" as const, catch_up_limit: 5,
    event_name: " trial_ended ", offset_minutes: -30,
  };

  it("are only the kind's, trimmed", () => {
    expect(triggerFields("webhook", form)).toEqual({ name: "Nightly", enabled: true, require_signature: false,
      include_headers: ["X-Source", "User-Agent"] });
    expect(triggerFields("schedule", form)).toEqual({ name: "Nightly", enabled: true, cron: "0 9 * * *",
      timezone: "Europe/Paris", missed_fires: "catch_up", catch_up_limit: 5 });
    expect(triggerFields("event", form)).toEqual({ name: "Nightly", enabled: true, event_name: "trial_ended", offset_minutes: -30 });
  });
});
