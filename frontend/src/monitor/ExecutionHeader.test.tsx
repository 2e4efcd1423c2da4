import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";

import { EXECUTION_STATUSES, type ExecutionAction, type ExecutionDetail, type ExecutionStatus } from "@/lib/types";

// What the server answers as allowed_actions for each status (its state table): workflows/tests/test_api.py
// checks this file against the server, so both sides are tested from the one table.
import SERVER_TABLE from "./allowed-actions.json";
import { ExecutionHeader } from "./ExecutionHeader";
import { execution } from "./test-fixtures";

const TABLE = SERVER_TABLE as Record<ExecutionStatus, ExecutionAction[]>;

function renderHeader(detail: ExecutionDetail, handlers: { onRetry: () => void; onCancel: () => void; onEdit?: () => void; onReplay?: () => void; onPause?: () => void; onUnpause?: () => void } = { onRetry: vi.fn(), onCancel: vi.fn(), onReplay: vi.fn() }) {
  render(
    <MemoryRouter>
      <ExecutionHeader execution={detail} live="open" now={Date.parse("2026-01-01T10:00:05Z")} progress={{ done: 1, total: 2 }}
                       showHelp={false} onToggleHelp={vi.fn()} {...handlers} />
    </MemoryRouter>,
  );
  return handlers;
}

const shown = () => ({
  retry: screen.queryByRole("button", { name: /^Retry/ }) !== null,
  cancel: screen.queryByRole("button", { name: /^Cancel/ }) !== null,
  replay: screen.queryByRole("button", { name: /^Replay/ }) !== null,
});
const editShown = () => screen.queryByRole("button", { name: "Edit and resume" }) !== null;

describe("ExecutionHeader actions", () => {
  it("covers every execution status in the server's table", () => {
    expect(Object.keys(TABLE).sort()).toEqual([...EXECUTION_STATUSES].sort());
  });

  it.each(EXECUTION_STATUSES)("shows, for a %s run, exactly the actions the server allows", (status) => {
    renderHeader(execution([], { status, allowed_actions: TABLE[status] }));
    expect(shown()).toEqual({ retry: TABLE[status].includes("retry"), cancel: TABLE[status].includes("cancel"),
                              replay: TABLE[status].includes("replay") });
  });

  it.each(EXECUTION_STATUSES)("offers Edit and resume for a %s run exactly when the server allows edit", (status) => {
    renderHeader(execution([], { status, allowed_actions: TABLE[status] }), { onRetry: vi.fn(), onCancel: vi.fn(), onEdit: vi.fn() });
    expect(editShown()).toBe(TABLE[status].includes("edit"));
  });

  it("opens Edit and resume and says the run was edited, and by whom", async () => {
    const handlers = renderHeader(execution([], { status: "failed", allowed_actions: ["retry", "edit"], overridden_by: "alice",
                                                  overridden_at: "2026-01-01T10:00:05Z", overrides: { input: {} } }),
                                  { onRetry: vi.fn(), onCancel: vi.fn(), onEdit: vi.fn() });
    await userEvent.click(screen.getByRole("button", { name: "Edit and resume" }));
    expect(handlers.onEdit).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId("header-edited")).toHaveTextContent("by alice");
  });

  it.each(EXECUTION_STATUSES)("offers Pause / Resume for a %s run exactly when the server allows them", (status) => {
    renderHeader(execution([], { status, allowed_actions: TABLE[status] }),
                 { onRetry: vi.fn(), onCancel: vi.fn(), onPause: vi.fn(), onUnpause: vi.fn() });
    expect(screen.queryByRole("button", { name: "Pause" }) !== null).toBe(TABLE[status].includes("pause"));
    expect(screen.queryByRole("button", { name: "Resume" }) !== null).toBe(TABLE[status].includes("unpause"));
  });

  it("pauses a running run and resumes a paused one", async () => {
    const handlers = renderHeader(execution([], { status: "running", allowed_actions: TABLE.running }),
                                  { onRetry: vi.fn(), onCancel: vi.fn(), onPause: vi.fn(), onUnpause: vi.fn() });
    await userEvent.click(screen.getByRole("button", { name: "Pause" }));
    expect(handlers.onPause).toHaveBeenCalledTimes(1);
    expect(handlers.onUnpause).not.toHaveBeenCalled();
  });

  it("offers retry of a cancelled run and cancel of a failed one, as the server does", () => {
    renderHeader(execution([], { status: "cancelled", allowed_actions: TABLE.cancelled }));
    expect(shown()).toEqual({ retry: true, cancel: false, replay: true });
  });

  it("reads allowed_actions, not the status", () => {
    renderHeader(execution([], { status: "failed", allowed_actions: [] }));
    expect(shown()).toEqual({ retry: false, cancel: false, replay: false });
  });

  it("calls the handler of the button pressed", async () => {
    const handlers = renderHeader(execution([], { status: "failed", allowed_actions: ["retry", "cancel"] }));
    await userEvent.click(screen.getByRole("button", { name: /^Retry/ }));
    await userEvent.click(screen.getByRole("button", { name: /^Cancel/ }));
    expect(handlers.onRetry).toHaveBeenCalledTimes(1);
    expect(handlers.onCancel).toHaveBeenCalledTimes(1);
  });

  it("offers a replay of a finished run and calls its handler", async () => {
    const handlers = renderHeader(execution([], { status: "completed", allowed_actions: TABLE.completed }));
    await userEvent.click(screen.getByRole("button", { name: /^Replay \(dry run\)/ }));
    expect(handlers.onReplay).toHaveBeenCalledTimes(1);
  });

  it("says which run a replay replays, with a link to it", () => {
    renderHeader(execution([], { status: "completed", is_replay: true, replay_of: "abcdef12-0000-0000-0000-000000000000" }));
    expect(screen.getByRole("link", { name: "replay of #abcdef12" }))
      .toHaveAttribute("href", "/executions/abcdef12-0000-0000-0000-000000000000");
  });

  it("flags a test run with pinned data", () => {
    renderHeader(execution([], { status: "completed", test_run: true }));
    expect(screen.getByText("test run with pins")).toBeInTheDocument();
    expect(screen.queryByText(/^replay/)).toBeNull();
  });
});
