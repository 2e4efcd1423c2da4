import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, renderHook } from "@testing-library/react";
import type { ReactNode } from "react";

import type { ExecutionDetail } from "@/lib/types";
import { useExecution } from "@/monitor/queries";
import { execution, task } from "@/monitor/test-fixtures";

import { useExecutionStream } from "./use-execution-stream";

class FakeSocket {
  static made: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((message: { data: string }) => void) | null = null;
  onclose: ((close: { code: number }) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.made.push(this);
  }
  close() {}
}

const RUN = "11111111-1111-1111-1111-111111111111";
const STEPS = 500;

/** A 500-step run whose server answers GET executions/<id>/ after `delay` ms with the state it had when
 * asked (as the API does: a snapshot at read time). */
function slowServer(delay: number) {
  const statuses = Array.from({ length: STEPS }, () => "pending");
  const run = { status: "running" as ExecutionDetail["status"] };
  const requests: { at: number; aborted: boolean }[] = [];
  const snapshot = () => execution(statuses.map((status, i) => task(`s${i}`, { id: `t${i}`, status: status as "pending" })), { id: RUN, status: run.status });
  vi.stubGlobal("fetch", vi.fn((_url: string, init: RequestInit) => {
    const request = { at: Date.now(), aborted: false };
    requests.push(request);
    const body = JSON.stringify(snapshot());
    init.signal?.addEventListener("abort", () => { request.aborted = true; });
    return new Promise((resolve) => setTimeout(() => resolve(new Response(body, { status: 200, headers: { "Content-Type": "application/json" } })), delay));
  }));
  return { statuses, run, requests, snapshot };
}

function setUp(delay: number) {
  const server = slowServer(delay);
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const wrapper = ({ children }: { children: ReactNode }) => <QueryClientProvider client={client}>{children}</QueryClientProvider>;
  const view = renderHook(() => {
    const stream = useExecutionStream(RUN);
    return useExecution(RUN, { journal: stream.journal });
  }, { wrapper });
  return { server, client, view };
}

const done = (detail: ExecutionDetail | undefined) => detail?.task_executions.filter((t) => t.status === "completed").length ?? 0;

function complete(server: ReturnType<typeof slowServer>, from: number, to: number) {
  const events = [];
  for (let i = from; i < to; i += 1) {
    server.statuses[i] = "completed";
    events.push({ id: i, event: "step.completed", level: "info", message: "", step_key: `s${i}`, task_id: `t${i}`,
                  execution_id: RUN, workflow_id: "w", created_at: new Date().toISOString(), status: "completed" });
  }
  FakeSocket.made[0].onmessage?.({ data: JSON.stringify({ type: "events", events }) });
}

describe("useExecutionStream", () => {
  beforeEach(() => {
    FakeSocket.made = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.useFakeTimers({ shouldAdvanceTime: false });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("keeps the run within a second of the server while events come faster than the server answers", async () => {
    // The server takes 1.5 s to answer: a refetch every 250 ms that replaces the one in flight never lands.
    const { server, view } = setUp(1_500);
    await act(() => vi.advanceTimersByTimeAsync(1_600));
    act(() => FakeSocket.made[0].onopen?.());
    let worstLag = 0;
    // 10 s of a run that completes 5 steps every 100 ms.
    for (let tick = 0; tick < 100; tick += 1) {
      act(() => complete(server, tick * 5, tick * 5 + 5));
      await act(() => vi.advanceTimersByTimeAsync(100));
      const serverDone = server.statuses.filter((s) => s === "completed").length;
      worstLag = Math.max(worstLag, serverDone - done(view.result.current.data));
    }
    // At most a batch's worth (150 ms, 10 steps) behind, never stuck.
    expect(worstLag).toBeLessThanOrEqual(10);
    await act(() => vi.advanceTimersByTimeAsync(3_000));
    expect(done(view.result.current.data)).toBe(STEPS);
    // Refetches: never two at once, none cancelled, at most about one a second (plus the first fetch and the one on open).
    expect(server.requests.filter((r) => r.aborted)).toHaveLength(0);
    for (let i = 1; i < server.requests.length; i += 1) {
      expect(server.requests[i].at - server.requests[i - 1].at).toBeGreaterThanOrEqual(1_000);
    }
    expect(server.requests.length).toBeLessThanOrEqual(3 + 13 / 1.5);
  });

  it("an answer read before some events does not take the screen back: the events since its request are replayed over it", async () => {
    const { server, view } = setUp(1_000);
    await act(() => vi.advanceTimersByTimeAsync(1_100));
    act(() => FakeSocket.made[0].onopen?.());
    act(() => complete(server, 0, 1));          // asks for a refetch (it starts at once, reading 1 done)
    await act(() => vi.advanceTimersByTimeAsync(200));
    // While it is in flight, 9 more complete; the answer (1 done) arrives after they were shown.
    const answered = server.requests.length;
    act(() => complete(server, 1, 10));
    for (let t = 0; t < 20; t += 1) {
      await act(() => vi.advanceTimersByTimeAsync(100));
      expect(done(view.result.current.data)).toBeGreaterThanOrEqual(t >= 2 ? 10 : 1);
    }
    expect(server.requests.length).toBeGreaterThan(answered);
  });

  it("shows the run's end when its last event came while a refetch that read before it was in flight", async () => {
    const { server, view } = setUp(1_000);
    await act(() => vi.advanceTimersByTimeAsync(1_100));
    act(() => FakeSocket.made[0].onopen?.());  // a refetch on open: it reads "running"
    await act(() => vi.advanceTimersByTimeAsync(100));
    act(() => {
      server.run.status = "completed";
      FakeSocket.made[0].onmessage?.({ data: JSON.stringify({ type: "events", events: [
        { id: 1, event: "execution.completed", level: "info", message: "", step_key: "", task_id: null, execution_id: RUN,
          workflow_id: "w", created_at: new Date().toISOString(), status: "completed" }] }) });
    });
    await act(() => vi.advanceTimersByTimeAsync(5_000));
    expect(view.result.current.data?.status).toBe("completed");
    expect(server.requests.filter((r) => r.aborted)).toHaveLength(0);
  });

  it("adds the log lines of a burst of messages in one render, not one per message", async () => {
    slowServer(10);
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const wrapper = ({ children }: { children: ReactNode }) => <QueryClientProvider client={client}>{children}</QueryClientProvider>;
    let renders = 0;
    const view = renderHook(() => {
      renders += 1;
      return useExecutionStream(RUN).liveLogs;
    }, { wrapper });
    act(() => FakeSocket.made[0].onopen?.());
    await act(() => vi.advanceTimersByTimeAsync(500));
    const before = renders;
    for (let i = 0; i < 20; i += 1) {
      act(() => FakeSocket.made[0].onmessage?.({ data: JSON.stringify({ type: "events", events: [
        { id: i, event: "step.log", level: "info", message: `line ${i}`, step_key: "s0", task_id: "t0", execution_id: RUN,
          workflow_id: "w", created_at: new Date().toISOString() }] }) }));
      await act(() => vi.advanceTimersByTimeAsync(10));
    }
    await act(() => vi.advanceTimersByTimeAsync(300));
    expect(view.result.current.map((line) => line.message)).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i}`));
    expect(renders - before).toBeLessThanOrEqual(4);
  });
});
