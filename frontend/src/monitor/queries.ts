/** The monitor's server state: query keys and the queries and mutations over the executions API. */
import { keepPreviousData, useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, type Page } from "@/lib/api";
import type { BulkRerunResult, BulkRetryResult, Execution, ExecutionAction, ExecutionDetail, ExecutionLogPage, ExecutionWhy, LogLevel, Workflow, WorkflowVersion } from "@/lib/types";

import { commonStepKeys } from "./bulk-rerun";
import { filtersToQuery, type ListFilters } from "./list-filters";
import { applyEvents, type EventJournal } from "./live-patch";
import { lastPageOffset } from "./logs";

export const executionKeys = {
  all: ["executions"] as const,
  lists: () => ["executions", "list"] as const,
  list: (filters: ListFilters) => ["executions", "list", filters] as const,
  detail: (id: string) => ["executions", "detail", id] as const,
  /** Under the run's detail key: whatever refreshes the run (a live event, an action) refreshes it too. */
  why: (id: string) => ["executions", "detail", id, "why"] as const,
  logs: (id: string) => ["executions", "logs", id] as const,
  logsAt: (id: string, level: LogLevel) => ["executions", "logs", id, level] as const,
};

export const LOG_PAGE = 1000;

export function useExecutionList(filters: ListFilters, options: { poll?: number | false } = {}) {
  return useQuery({
    queryKey: executionKeys.list(filters),
    queryFn: () => api.get<Page<Execution>>("executions/", filtersToQuery(filters)),
    placeholderData: keepPreviousData,
    staleTime: 2_000,
    refetchInterval: options.poll ?? false,
  });
}

/** While a run moves by itself (pending, running) and the live socket is open, the page still reads it
 * this often: the socket brings every change, but a change whose message was lost (a channel layer
 * that dropped it, a socket that opened just after the run's last commit was published) would
 * otherwise leave the screen stale until the next event, which a finished run never sends. */
export const LIVE_SAFETY_POLL_MS = 10_000;
const MOVING: ReadonlySet<string> = new Set(["pending", "running"]);

/** How often to read a run: `poll` when given (the socket is closed), else `whileMoving` while the run
 * is pending or running, else never. */
export function pollInterval(status: string | undefined, poll: number | false | undefined,
                             whileMoving: number | undefined): number | false {
  if (poll) return poll;
  return whileMoving && status !== undefined && MOVING.has(status) ? whileMoving : false;
}

/** One run. `journal`: the live transitions of the run (useExecutionStream's), replayed over each answer
 * that arrived since its request left (the server may have read before they committed). */
export function useExecution(id: string, options: { poll?: number | false; pollWhileMoving?: number; enabled?: boolean;
                                                    journal?: EventJournal } = {}) {
  const { journal } = options;
  return useQuery({
    queryKey: executionKeys.detail(id),
    queryFn: async () => {
      const mark = journal?.mark() ?? 0;
      const detail = await api.get<ExecutionDetail>(`executions/${id}/`);
      return journal && journal.executionId === id ? applyEvents(detail, journal.since(mark)) : detail;
    },
    staleTime: 1_000,
    refetchInterval: (query) => pollInterval(query.state.data?.status, options.poll, options.pollWhileMoving),
    enabled: options.enabled ?? true,
  });
}

/** Why the run (and each step not running) is where it is. Refreshed with the run; while it is in flight,
 * also every `poll` ms, since its sentences ("queued 40 s ago") age. */
export function useExecutionWhy(id: string, options: { enabled?: boolean; poll?: number | false } = {}) {
  return useQuery({
    queryKey: executionKeys.why(id),
    queryFn: () => api.get<ExecutionWhy>(`executions/${id}/why/`),
    enabled: options.enabled ?? true,
    staleTime: 1_000,
    refetchInterval: options.poll ?? false,
  });
}

/** The newest LOG_PAGE lines at `level` and above (two requests when there are more than that). */
export function useExecutionLogs(id: string, level: LogLevel) {
  return useQuery({
    queryKey: executionKeys.logsAt(id, level),
    queryFn: async () => {
      const first = await api.get<ExecutionLogPage>(`executions/${id}/logs/`, { level, limit: LOG_PAGE, offset: 0 });
      if (first.count <= LOG_PAGE) return first;
      return api.get<ExecutionLogPage>(`executions/${id}/logs/`, { level, limit: LOG_PAGE, offset: lastPageOffset(first.count, LOG_PAGE) });
    },
    placeholderData: keepPreviousData,
    staleTime: 5_000,
  });
}

/** The definition an execution ran: version `number` of workflow `workflowId`. Versions never change. */
export function useWorkflowVersion(workflowId: string | undefined, number: number | undefined) {
  return useQuery({
    queryKey: ["workflows", workflowId, "versions"],
    queryFn: () => api.get<WorkflowVersion[] | Page<WorkflowVersion>>(`workflows/${workflowId}/versions/`),
    enabled: Boolean(workflowId),
    staleTime: 60_000,
    select: (data) => (Array.isArray(data) ? data : data.results).find((version) => version.number === number) ?? null,
  });
}

export function useWorkflowOptions() {
  return useQuery({
    queryKey: ["workflows", "options"],
    queryFn: () => api.get<Page<Workflow> | Workflow[]>("workflows/", { limit: 200 }),
    staleTime: 60_000,
    select: (data) => (Array.isArray(data) ? data : data.results).map((workflow) => ({ id: workflow.id, name: workflow.name })),
  });
}

export function useExecutionAction(id: string, action: ExecutionAction) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body?: Record<string, unknown>) => api.post<ExecutionDetail>(`executions/${id}/${action}/`, body),
    onSuccess: (detail) => {
      client.setQueryData(executionKeys.detail(id), detail);
      void client.invalidateQueries({ queryKey: executionKeys.logs(id) });
      void client.invalidateQueries({ queryKey: executionKeys.lists() });
    },
  });
}

/** Replay a finished run as a dry run (POST .../replay/): answers the new run (a replay of `id`). */
export function useReplay(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { version: "original" | "latest" | number; mocks: Record<string, Record<string, unknown>> }) =>
      api.post<ExecutionDetail>(`executions/${id}/replay/`, body),
    onSuccess: () => void client.invalidateQueries({ queryKey: executionKeys.lists() }),
  });
}

/** Retries exactly the selected failed executions. A server that does not know `execution_ids` yet would
 * retry every failed run it can see, so a dry run checks first; when it answers with more than the
 * selection, each selected run is retried on its own instead. */
export async function retrySelected(ids: string[], version: "original" | "latest" = "original"): Promise<{ retried: string[]; failed: string[]; refused?: Record<string, string> }> {
  const choice = version === "latest" ? { version } : {}; // the run's own version is the server's default
  const selected = new Set(ids);
  const preview = await api.post<BulkRetryResult>("executions/retry-failed/", { execution_ids: ids, dry_run: true });
  if (preview.execution_ids.every((id) => selected.has(id))) {
    const result = await api.post<BulkRetryResult>("executions/retry-failed/", { execution_ids: ids, ...choice });
    const failed = ids.filter((id) => !result.execution_ids.includes(id));
    return Object.keys(result.refused ?? {}).length
      ? { retried: result.execution_ids, failed, refused: result.refused }
      : { retried: result.execution_ids, failed };
  }
  const outcomes = await Promise.allSettled(ids.map((id) => api.post(`executions/${id}/retry/`, choice)));
  return {
    retried: ids.filter((_, index) => outcomes[index].status === "fulfilled"),
    failed: ids.filter((_, index) => outcomes[index].status === "rejected"),
  };
}

/** Pause (or resume) exactly the selected runs (POST /executions/pause/ or /unpause/ with their ids):
 * answers how many were. */
export async function pauseSelected(ids: string[], action: "pause" | "unpause"): Promise<number> {
  if (!ids.length) return 0;
  const result = await api.post<{ count: number }>(`executions/${action}/`, { execution_ids: ids });
  return result.count;
}

/** A dry run of the bulk retry of `ids`: how many would be retried and how many are on an older version. */
export function useBulkRetryPreview(ids: string[], enabled: boolean) {
  return useQuery({
    queryKey: ["executions", "retry-preview", ids],
    queryFn: () => api.post<BulkRetryResult>("executions/retry-failed/", { execution_ids: ids, dry_run: true }),
    enabled,
  });
}

const versionsOf = (workflowId: string) => ({
  queryKey: ["workflows", workflowId, "versions"],
  queryFn: () => api.get<WorkflowVersion[] | Page<WorkflowVersion>>(`workflows/${workflowId}/versions/`),
  staleTime: 60_000,
});

/** The step keys every one of these versions has (`latest`: the workflow's newest), null while loading:
 * what a bulk rerun of runs on them can start from. */
export function useCommonStepKeys(versions: { workflow: string; number: number | "latest" }[], enabled: boolean): string[] | null {
  const workflows = [...new Set(versions.map((v) => v.workflow))];
  const answers = useQueries({ queries: workflows.map((id) => ({ ...versionsOf(id), enabled })) });
  if (!enabled || answers.some((answer) => !answer.data)) return null;
  const byWorkflow = new Map(workflows.map((id, index) => {
    const data = answers[index].data!;
    return [id, Array.isArray(data) ? data : data.results];
  }));
  return commonStepKeys(versions.map(({ workflow, number }) => {
    const list = byWorkflow.get(workflow) ?? [];
    const version = number === "latest" ? list.reduce<WorkflowVersion | undefined>((a, b) => (!a || b.number > a.number ? b : a), undefined)
      : list.find((v) => v.number === number);
    return version?.definition.steps.map((step) => step.key) ?? [];
  }));
}

/** POST executions/rerun/: a bulk rerun from a step of a selection (`execution_ids`) or of filters. */
export const bulkRerun = (body: Record<string, unknown>) => api.post<BulkRerunResult>("executions/rerun/", body);
