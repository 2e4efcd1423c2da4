/** A workflow's triggers through the triggers API: list, create, change, delete; a webhook's secret,
 * its recent deliveries and "listen for a test delivery"; a schedule's preview (the server describes
 * cron and computes fire times: the browser never re-implements them). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "@/lib/api";
import type {
  SchedulePreview, Trigger, TriggerCreated, TriggerKind, WebhookDelivery, WebhookListen,
} from "@/lib/triggers";

export const triggersKey = (workflowId: string) => ["workflows", workflowId, "triggers"] as const;
const deliveriesKey = (id: string) => ["triggers", id, "deliveries"] as const;
const listenKey = (id: string) => ["triggers", id, "listen"] as const;

export type TriggerFields = Partial<Pick<Trigger, "name" | "enabled" | "require_signature" | "cron" | "timezone" |
  "missed_fires" | "catch_up_limit" | "event_name" | "offset_minutes">> & { include_headers?: string[] };

export function useTriggers(workflowId: string, enabled = true) {
  return useQuery({
    queryKey: triggersKey(workflowId),
    queryFn: () => api.get<Trigger[]>(`workflows/${workflowId}/triggers/`),
    enabled,
  });
}

export function useTriggerMutations(workflowId: string) {
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: triggersKey(workflowId) });
  const create = useMutation({
    mutationFn: (body: TriggerFields & { type: TriggerKind }) =>
      api.post<TriggerCreated>(`workflows/${workflowId}/triggers/`, body),
    onSuccess: refresh,
  });
  const update = useMutation({
    mutationFn: ({ id, ...body }: TriggerFields & { id: string }) => api.patch<Trigger>(`triggers/${id}/`, body),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (id: string) => api.delete(`triggers/${id}/`),
    onSuccess: refresh,
  });
  const rotate = useMutation({
    mutationFn: (id: string) => api.post<TriggerCreated>(`triggers/${id}/rotate-secret/`),
  });
  const reveal = useMutation({
    mutationFn: (id: string) => api.post<{ secret: string }>(`triggers/${id}/reveal-secret/`),
  });
  return { create, update, remove, rotate, reveal };
}

export function useWebhookDeliveries(id: string) {
  return useQuery({
    queryKey: deliveriesKey(id),
    queryFn: () => api.get<WebhookDelivery[]>(`triggers/${id}/deliveries/`, { limit: 10 }),
    refetchInterval: 5000,
  });
}

/** The listen state, polled every second while it waits for a delivery. */
export function useWebhookListen(id: string) {
  const client = useQueryClient();
  const state = useQuery({
    queryKey: listenKey(id),
    queryFn: () => api.get<WebhookListen>(`triggers/${id}/listen/`),
    refetchInterval: (query) => (query.state.data?.listening ? 1000 : false),
  });
  const start = useMutation({
    mutationFn: () => api.post<WebhookListen>(`triggers/${id}/listen/`),
    onSuccess: (data) => client.setQueryData(listenKey(id), data),
  });
  const stop = useMutation({
    mutationFn: () => api.delete(`triggers/${id}/listen/`),
    onSuccess: () => client.setQueryData(listenKey(id), { listening: false, expires_at: null, capture: null }),
  });
  return { state, start, stop };
}

export function useSchedulePreview(cron: string, timezone: string, count = 5) {
  return useQuery({
    queryKey: ["triggers", "preview", cron, timezone, count],
    queryFn: ({ signal }) => api.post<SchedulePreview>("triggers/preview/", { cron, timezone, count }, { signal }),
    enabled: cron.trim().length > 0,
    retry: false,
    staleTime: 30_000,
  });
}
