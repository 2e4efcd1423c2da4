/** The dashboard's view, kept in the URL (?window=24h&workflow=<id>), and the metrics API query it
 * stands for; the executions list links it drills down to. Pure. */
import type { ExecutionStatus } from "@/lib/types";

export const WINDOWS = ["15m", "1h", "24h", "7d", "30d"] as const;
export type MetricsWindowName = (typeof WINDOWS)[number];
export const DEFAULT_WINDOW: MetricsWindowName = "24h";

export const WINDOW_LABELS: Record<MetricsWindowName, string> = {
  "15m": "15 min", "1h": "1 hour", "24h": "24 hours", "7d": "7 days", "30d": "30 days",
};

export interface DashboardView {
  window: MetricsWindowName;
  /** A workflow id, or "" for all of them. */
  workflow: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseView(params: URLSearchParams): DashboardView {
  const window = params.get("window") ?? "";
  const workflow = params.get("workflow") ?? "";
  return {
    window: (WINDOWS as readonly string[]).includes(window) ? (window as MetricsWindowName) : DEFAULT_WINDOW,
    workflow: UUID.test(workflow) ? workflow.toLowerCase() : "",
  };
}

/** The URL query for `view`, leaving out what is at its default. */
export function viewToParams(view: DashboardView): URLSearchParams {
  const params = new URLSearchParams();
  if (view.window !== DEFAULT_WINDOW) params.set("window", view.window);
  if (view.workflow) params.set("workflow", view.workflow);
  return params;
}

/** The query of the windowed metrics endpoints; `all` leaves the workflow filter out. */
export function metricsQuery(view: DashboardView, options: { all?: boolean } = {}): Record<string, string> {
  const query: Record<string, string> = { window: view.window };
  if (view.workflow && !options.all) query.workflow = view.workflow;
  return query;
}

/** /executions filtered to a workflow's runs (and a status): the drill-down from a figure. */
export function executionsLink(workflow: string, status?: ExecutionStatus): string {
  const params = new URLSearchParams();
  if (status) params.append("status", status);
  if (workflow) params.set("workflow", workflow);
  const text = params.toString();
  return text ? `/executions?${text}` : "/executions";
}
