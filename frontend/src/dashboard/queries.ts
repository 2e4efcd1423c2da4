/** The dashboard's server state: the metrics endpoints, refetched every 15 s, and the bulk retry of
 * one error group. */
import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { api } from "@/lib/api";

import type { ErrorRetryResult, Errors, Running, StepMetrics, Throughput, WorkflowMetrics } from "./types";
import { metricsQuery, type DashboardView } from "./window-params";

export const REFRESH_MS = 15_000;

export const metricsKeys = {
  all: ["metrics"] as const,
  workflows: (view: DashboardView) => ["metrics", "workflows", view.window] as const,
  steps: (view: DashboardView) => ["metrics", "steps", view.window, view.workflow] as const,
  throughput: (view: DashboardView) => ["metrics", "throughput", view.window, view.workflow] as const,
  running: (view: DashboardView) => ["metrics", "running", view.workflow] as const,
  errors: (view: DashboardView) => ["metrics", "errors", view.window, view.workflow] as const,
};

const live = { placeholderData: keepPreviousData, refetchInterval: REFRESH_MS, staleTime: 5_000 };

/** Every workflow with runs (the table lists them all; the workflow filter picks one out). */
export function useWorkflowMetrics(view: DashboardView) {
  return useQuery({
    queryKey: metricsKeys.workflows(view),
    queryFn: () => api.get<WorkflowMetrics>("metrics/workflows/", metricsQuery(view, { all: true })),
    ...live,
  });
}

export function useStepMetrics(view: DashboardView) {
  return useQuery({
    queryKey: metricsKeys.steps(view),
    queryFn: () => api.get<StepMetrics>("metrics/steps/", metricsQuery(view)),
    ...live,
  });
}

export function useThroughput(view: DashboardView) {
  return useQuery({
    queryKey: metricsKeys.throughput(view),
    queryFn: () => api.get<Throughput>("metrics/throughput/", metricsQuery(view)),
    ...live,
  });
}

export function useRunning(view: DashboardView) {
  return useQuery({
    queryKey: metricsKeys.running(view),
    queryFn: () => api.get<Running>("metrics/running/", view.workflow ? { workflow: view.workflow } : undefined),
    ...live,
  });
}

export function useErrors(view: DashboardView) {
  return useQuery({
    queryKey: metricsKeys.errors(view),
    queryFn: () => api.get<Errors>("metrics/errors/", { ...metricsQuery(view), limit: 20 }),
    ...live,
  });
}

export interface ErrorRetrySelection {
  signature: string;
  workflow?: string;
  /** Only failures at or after this time: the window the group was counted in. */
  since?: string;
}

/** POST metrics/errors/retry/: with `dryRun`, which runs would be retried; else retry them. */
export function retryErrorGroup(selection: ErrorRetrySelection, dryRun: boolean): Promise<ErrorRetryResult> {
  const body: Record<string, unknown> = { signature: selection.signature, dry_run: dryRun };
  if (selection.workflow) body.workflow = selection.workflow;
  if (selection.since) body.since = selection.since;
  return api.post<ErrorRetryResult>("metrics/errors/retry/", body);
}
