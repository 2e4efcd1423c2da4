/** One workflow through the API: read it and its versions; save, activate and run it. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "@/lib/api";
import type { ExecutionDetail, StepDefinition, Workflow, WorkflowVersion } from "@/lib/types";

export const workflowKey = (id: string) => ["workflows", id] as const;
export const workflowsListKey = ["workflows", "list"] as const;
export const versionsKey = (id: string) => ["workflows", id, "versions"] as const;

export function useWorkflow(id: string) {
  return useQuery({ queryKey: workflowKey(id), queryFn: () => api.get<Workflow>(`workflows/${id}/`), staleTime: Infinity });
}

export function useWorkflowVersions(id: string, enabled = true) {
  return useQuery({
    queryKey: versionsKey(id),
    queryFn: () => api.get<WorkflowVersion[]>(`workflows/${id}/versions/`),
    enabled,
    staleTime: 0,
  });
}

export function useWorkflowMutations(id: string) {
  const client = useQueryClient();
  const settle = (workflow: Workflow) => {
    client.setQueryData(workflowKey(id), workflow);
    client.invalidateQueries({ queryKey: workflowsListKey });
  };
  const save = useMutation({
    mutationFn: (body: { name: string; description: string; steps: StepDefinition[] }) => api.put<Workflow>(`workflows/${id}/`, body),
    onSuccess: settle,
  });
  const activate = useMutation({
    mutationFn: () => api.post<Workflow>(`workflows/${id}/activate/`),
    onSuccess: settle,
  });
  const run = useMutation({
    mutationFn: (input_data: Record<string, unknown>) => api.post<ExecutionDetail>(`workflows/${id}/run/`, { input_data }),
  });
  /** A test run with the workflow's pinned data (POST workflows/<id>/test-run/): pinned steps answer from their pins. */
  const testRun = useMutation({
    mutationFn: (input_data: Record<string, unknown>) => api.post<ExecutionDetail>(`workflows/${id}/test-run/`, { input_data }),
  });
  return { save, activate, run, testRun };
}
