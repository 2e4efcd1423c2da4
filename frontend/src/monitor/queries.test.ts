import { retrySelected } from "./queries";

type Call = { url: string; body: unknown };

function server(answer: (call: Call) => unknown) {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", vi.fn(async (url: string, init: RequestInit) => {
    const call = { url, body: init.body ? JSON.parse(init.body as string) : undefined };
    calls.push(call);
    return new Response(JSON.stringify(answer(call)), { status: 200, headers: { "Content-Type": "application/json" } });
  }));
  return calls;
}

afterEach(() => vi.unstubAllGlobals());

describe("retrySelected", () => {
  it("retries exactly the selection in one bulk call when the dry run stays within it", async () => {
    const calls = server(({ body }) => ({ count: 2, execution_ids: ["a", "b"], ...((body as { dry_run?: boolean }).dry_run ? { dry_run: true } : { retried: 2 }) }));
    expect(await retrySelected(["a", "b"])).toEqual({ retried: ["a", "b"], failed: [] });
    expect(calls.map((call) => [call.url, call.body])).toEqual([
      ["/api/v1/executions/retry-failed/", { execution_ids: ["a", "b"], dry_run: true }],
      ["/api/v1/executions/retry-failed/", { execution_ids: ["a", "b"] }],
    ]);
  });

  it("never retries runs outside the selection: a server that ignores execution_ids gets one retry per selected run", async () => {
    const calls = server(({ url }) => (url.endsWith("retry-failed/") ? { dry_run: true, count: 3, execution_ids: ["a", "b", "other"] } : {}));
    expect(await retrySelected(["a", "b"])).toEqual({ retried: ["a", "b"], failed: [] });
    expect(calls.map((call) => call.url)).toEqual([
      "/api/v1/executions/retry-failed/", "/api/v1/executions/a/retry/", "/api/v1/executions/b/retry/",
    ]);
  });

  it("asks for the latest version when chosen, and answers the runs the server refused with the reason", async () => {
    const calls = server(({ body }) => ((body as { dry_run?: boolean }).dry_run
      ? { dry_run: true, count: 2, execution_ids: ["a", "b"], outdated: 2, refused: {} }
      : { retried: 1, count: 1, execution_ids: ["a"], outdated: 2, refused: { b: "the latest version (v2) cannot take over this run" } }));
    expect(await retrySelected(["a", "b"], "latest")).toEqual({
      retried: ["a"], failed: ["b"], refused: { b: "the latest version (v2) cannot take over this run" },
    });
    expect(calls[1].body).toEqual({ execution_ids: ["a", "b"], version: "latest" });
  });
});
