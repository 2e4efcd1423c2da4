import { renderHook } from "@testing-library/react";

import { STEP_TYPES } from "@/designer/__fixtures__/step-types";
import { createDesignerStore } from "@/designer/store";
import type { StepDefinition } from "@/lib/types";

import { useServerValidation, VALIDATE_DELAY_MS } from "./use-server-validation";

const step = (key: string, task_type: string, config: Record<string, unknown>, depends_on: string[] = []): StepDefinition => ({
  key, name: key, task_type, config, depends_on, step_order: 0, when: "", position: { x: 0, y: 0 },
});

interface Call {
  url: string;
  init: RequestInit;
  answer: (body: unknown) => void;
}

/** A fake of the browser's fetch: each call waits until the test answers it, and rejects with an
 * AbortError when its signal aborts, as the browser's does. */
function fakeServer() {
  const calls: Call[] = [];
  const fetch = vi.fn((url: string, init: RequestInit) => new Promise<Response>((resolve, reject) => {
    const signal = init.signal!;
    signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
    calls.push({ url, init, answer: (body) => resolve(new Response(JSON.stringify(body), { status: 200 })) });
  }));
  vi.stubGlobal("fetch", fetch);
  return calls;
}

function designer() {
  const store = createDesignerStore({
    steps: [step("a", "log", { message: "hi" }), step("b", "http_request", {}, ["a"])], stepTypes: STEP_TYPES,
  });
  store.getState().load(store.getState().steps(), { name: "Signup", description: "" });
  return store;
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("the server's check of the designer's graph", () => {
  it("is asked once, a while after the last edit, with the body a save sends", async () => {
    const calls = fakeServer();
    const store = designer();
    renderHook(() => useServerValidation(store, "wf-1"));
    await vi.advanceTimersByTimeAsync(VALIDATE_DELAY_MS); // the graph as loaded
    expect(calls).toHaveLength(1);
    calls[0].answer({ valid: true, errors: {} });
    await vi.advanceTimersByTimeAsync(0);

    for (const name of ["B", "Bo", "Bob"]) {
      store.getState().updateStep("b", { name }, "name");
      await vi.advanceTimersByTimeAsync(VALIDATE_DELAY_MS - 100);
    }
    expect(calls).toHaveLength(1); // typing: not yet
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toHaveLength(2);
    const { url, init } = calls[1];
    expect(url).toBe("/api/v1/workflows/validate/?workflow=wf-1");
    expect(init.method).toBe("POST");
    const body = JSON.parse(String(init.body));
    expect(body).toMatchObject({ name: "Signup", description: "" });
    expect(body.steps.map((s: StepDefinition) => [s.key, s.name, s.depends_on])).toEqual([["a", "a", []], ["b", "Bob", ["a"]]]);
  });

  it("shows the server's answer on the steps and fields it names, and the rest as general problems", async () => {
    const calls = fakeServer();
    const store = designer();
    renderHook(() => useServerValidation(store, "wf-1"));
    await vi.advanceTimersByTimeAsync(VALIDATE_DELAY_MS);
    calls[0].answer({ valid: false, errors: {
      "steps.b.config.url": ["this field is required"],
      "steps[0].timeout_seconds": ["Ensure this value is greater than or equal to 1."],
      name: ["This field may not be blank."],
    } });
    await vi.advanceTimersByTimeAsync(0);
    const s = store.getState();
    expect(s.issues).toEqual({
      b: [{ field: "config.url", message: "this field is required" }],
      a: [{ field: "timeout_seconds", message: "Ensure this value is greater than or equal to 1." }],
    });
    expect(s.generalErrors).toEqual(["name: This field may not be blank."]);
    expect(s.validatedRevision).toBe(s.revision);

    // Fixed: the next answer clears them.
    store.getState().updateStep("b", { config: { url: "https://x" } });
    await vi.advanceTimersByTimeAsync(VALIDATE_DELAY_MS);
    calls[1].answer({ valid: true, errors: {} });
    await vi.advanceTimersByTimeAsync(0);
    expect(store.getState().issues).toEqual({});
    expect(store.getState().generalErrors).toEqual([]);
  });

  it("aborts a check an edit made stale, and never shows its answer", async () => {
    const calls = fakeServer();
    const store = designer();
    renderHook(() => useServerValidation(store, "wf-1"));
    await vi.advanceTimersByTimeAsync(VALIDATE_DELAY_MS);
    expect(calls).toHaveLength(1);
    store.getState().updateStep("a", { name: "Start" });
    expect(calls[0].init.signal!.aborted).toBe(true);
    calls[0].answer({ valid: false, errors: { "steps.a.key": ["stale"] } }); // too late: ignored
    await vi.advanceTimersByTimeAsync(VALIDATE_DELAY_MS);
    expect(calls).toHaveLength(2);
    expect(store.getState().issues).toEqual({});
    calls[1].answer({ valid: false, errors: { "steps.b.config.url": ["this field is required"] } });
    await vi.advanceTimersByTimeAsync(0);
    expect(Object.keys(store.getState().issues)).toEqual(["b"]);
  });

  it("checks a workflow defined in code never, and stops when the designer closes", async () => {
    const calls = fakeServer();
    const code = designer();
    code.getState().viewCode(1, { nodes: code.getState().nodes, edges: code.getState().edges });
    renderHook(() => useServerValidation(code, "wf-code"));
    await vi.advanceTimersByTimeAsync(VALIDATE_DELAY_MS * 2);
    expect(calls).toHaveLength(0);

    const store = designer();
    const { unmount } = renderHook(() => useServerValidation(store, "wf-1"));
    await vi.advanceTimersByTimeAsync(VALIDATE_DELAY_MS);
    unmount();
    expect(calls[0].init.signal!.aborted).toBe(true);
    store.getState().updateStep("a", { name: "Start" });
    await vi.advanceTimersByTimeAsync(VALIDATE_DELAY_MS * 2);
    expect(calls).toHaveLength(1);
  });
  it("pauses while the workflow is being deleted: no check is sent, the one in flight is aborted", async () => {
    const calls = fakeServer();
    const store = designer();
    const { result } = renderHook(() => useServerValidation(store, "wf-1"));
    await vi.advanceTimersByTimeAsync(VALIDATE_DELAY_MS);
    expect(calls).toHaveLength(1);
    const inFlight = calls[0].init.signal!;
    result.current(true); // the delete is being sent
    expect(inFlight.aborted).toBe(true);
    store.getState().updateStep("b", { name: "B" }, "name");
    await vi.advanceTimersByTimeAsync(VALIDATE_DELAY_MS * 4);
    expect(calls).toHaveLength(1); // nothing asked about the workflow while it goes
    result.current(false); // the delete was refused: the checks resume
    await vi.advanceTimersByTimeAsync(VALIDATE_DELAY_MS);
    expect(calls).toHaveLength(2);
  });
});
