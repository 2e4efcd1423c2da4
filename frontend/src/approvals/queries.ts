/** The approvals' server state: the waiting approval and signal steps (GET /api/v1/approvals/) and
 * their answer (POST /api/v1/approvals/<task_execution_id>/). */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, type Page } from "@/lib/api";
import type { components } from "@/lib/api-schema";
import { executionKeys } from "@/monitor/queries";

export type Approval = components["schemas"]["Approval"];
export type DecisionResult = components["schemas"]["DecisionResult"];
export interface Decision { approved: boolean; comment?: string }

export const approvalKeys = {
  all: ["approvals"] as const,
  list: (offset: number, limit: number) => ["approvals", "list", offset, limit] as const,
};

export const APPROVALS_PAGE = 25;

export function useApprovals(offset = 0, limit = APPROVALS_PAGE, options: { poll?: number | false } = {}) {
  return useQuery({
    queryKey: approvalKeys.list(offset, limit),
    queryFn: () => api.get<Page<Approval>>("approvals/", { offset, limit }),
    placeholderData: keepPreviousData,
    staleTime: 2_000,
    refetchInterval: options.poll ?? 5_000,
  });
}

/** Answer one waiting step; then the lists and that run's page read the server again. */
export function useDecide(taskExecutionId: string, executionId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (decision: Decision) => api.post<DecisionResult>(`approvals/${taskExecutionId}/`, decision),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: approvalKeys.all });
      void client.invalidateQueries({ queryKey: executionKeys.detail(executionId) });
      void client.invalidateQueries({ queryKey: executionKeys.logs(executionId) });
      void client.invalidateQueries({ queryKey: executionKeys.lists() });
    },
  });
}
