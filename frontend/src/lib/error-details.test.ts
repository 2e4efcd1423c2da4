import { describe, expect, it } from "vitest";

import { bodyText, errorView } from "./error-details";

describe("errorView", () => {
  it("shows an HTTP answer's status, headers and body", () => {
    const view = errorView({
      type: "StepError", retryable: true, status_code: 500, headers: { "content-type": "text/plain", "x-request-id": "r1" },
      body: "the CRM is down", traceback: "…",
    });
    expect(view.status).toBe(500);
    expect(view.kind).toBe("StepError");
    expect(view.retryable).toBe(true);
    expect(view.headers).toEqual([["content-type", "text/plain"], ["x-request-id", "r1"]]);
    expect(view.body).toBe("the CRM is down");
    expect(view.extra).toEqual({});
  });

  it("pretty-prints a JSON body and keeps the other fields", () => {
    const view = errorView({ status_code: 422, body: '{"error":"bad email"}', worker_id: "w1" });
    expect(view.body).toBe('{\n  "error": "bad email"\n}');
    expect(view.headers).toEqual([]);
    expect(view.extra).toEqual({ worker_id: "w1" });
  });

  it("copes with no details", () => {
    expect(errorView(null)).toEqual({ kind: null, retryable: null, status: null, headers: [], body: null, extra: {} });
    expect(bodyText(["a"])).toBe('[\n  "a"\n]');
    expect(bodyText("not json {")).toBe("not json {");
  });
});
