/** The dead-letter queues' server state: failed runs by workflow and error group
 * (GET /api/v1/dead-letters/), and a queue's Retry all / Dismiss (POST .../<group>/retry/, .../dismiss/). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "@/lib/api";
import type { components } from "@/lib/api-schema";
import { executionKeys } from "@/monitor/queries";

export type DeadLetterGroup = components["schemas"]["DeadLetterGroup"];
export type DeadLetters = components["schemas"]["DeadLetters"];
export type QueueActionResult = components["schemas"]["QueueActionResult"];
export type QueueAction = "retry" | "dismiss";

export const deadLetterKeys = {
  all: ["dead-letters"] as const,
  list: (workflow: string) => ["dead-letters", "list", workflow] as const,
};

export function useDeadLetters(workflow = "", options: { poll?: number | false } = {}) {
  return useQuery({
    queryKey: deadLetterKeys.list(workflow),
    queryFn: () => api.get<DeadLetters>("dead-letters/", workflow ? { workflow } : undefined),
    staleTime: 2_000,
    refetchInterval: options.poll ?? 10_000,
  });
}

/** Retry or dismiss one queue; then the queues and the run lists read the server again. */
export function useQueueAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ group, action }: { group: string; action: QueueAction }) =>
      api.post<QueueActionResult>(`dead-letters/${encodeURIComponent(group)}/${action}/`, {}),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: deadLetterKeys.all });
      void client.invalidateQueries({ queryKey: executionKeys.lists() });
    },
  });
}
