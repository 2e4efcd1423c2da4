/** A stored error's details (a task execution's or a step test's `error_details`) as the panels show
 * them: an HTTP answer's status, headers and body first, then whatever else the step added. The
 * values are shown as the server stored them: secrets were redacted there. */

export interface ErrorView {
  kind: string | null;
  retryable: boolean | null;
  status: number | null;
  headers: [string, string][];
  /** The response body, pretty-printed when it is JSON. */
  body: string | null;
  /** The other fields (not the traceback, shown on its own). */
  extra: Record<string, unknown>;
}

const SHOWN = new Set(["type", "retryable", "status_code", "headers", "body", "traceback"]);

export function errorView(details: Record<string, unknown> | null | undefined): ErrorView {
  const d = details ?? {};
  const headers = d.headers && typeof d.headers === "object" && !Array.isArray(d.headers)
    ? Object.entries(d.headers as Record<string, unknown>).map(([k, v]) => [k, String(v)] as [string, string])
    : [];
  return {
    kind: typeof d.type === "string" ? d.type : null,
    retryable: typeof d.retryable === "boolean" ? d.retryable : null,
    status: typeof d.status_code === "number" ? d.status_code : null,
    headers,
    body: "body" in d ? bodyText(d.body) : null,
    extra: Object.fromEntries(Object.entries(d).filter(([key]) => !SHOWN.has(key))),
  };
}

export function bodyText(body: unknown): string {
  if (typeof body === "string") {
    try {
      const parsed: unknown = JSON.parse(body);
      return typeof parsed === "object" && parsed !== null ? JSON.stringify(parsed, null, 2) : body;
    } catch {
      return body;
    }
  }
  return JSON.stringify(body, null, 2) ?? String(body);
}
