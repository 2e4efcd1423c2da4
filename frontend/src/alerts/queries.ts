/** The alerts page's server state: rules, a rule's history, and the writes. */
import { useQuery } from "@tanstack/react-query";

import { api, type Page } from "@/lib/api";

import type { AlertEvent, AlertRule, AlertRuleInput, TestResult } from "./types";

export const alertKeys = {
  all: ["alert-rules"] as const,
  list: () => ["alert-rules", "list"] as const,
  events: (id: number) => ["alert-rules", "events", id] as const,
};

const rows = <T,>(data: Page<T> | T[]): T[] => (Array.isArray(data) ? data : data.results);

export function useAlertRules() {
  return useQuery({
    queryKey: alertKeys.list(),
    queryFn: async () => rows(await api.get<Page<AlertRule> | AlertRule[]>("alert-rules/", { limit: 200 })),
    refetchInterval: 30_000,
  });
}

export function useAlertEvents(id: number) {
  return useQuery({
    queryKey: alertKeys.events(id),
    queryFn: async () => rows(await api.get<Page<AlertEvent> | AlertEvent[]>(`alert-rules/${id}/events/`, { limit: 50 })),
  });
}

export const saveAlertRule = (payload: AlertRuleInput, id?: number) =>
  id === undefined ? api.post<AlertRule>("alert-rules/", payload) : api.put<AlertRule>(`alert-rules/${id}/`, payload);

export const deleteAlertRule = (id: number) => api.delete(`alert-rules/${id}/`);

export const testAlertRule = (id: number) => api.post<TestResult>(`alert-rules/${id}/test/`);
