/** A workflow's pinned data (GET/PUT /api/v1/workflows/<id>/pinned-data/), kept in the designer's
 * store once read; `save` replaces it on the server and then in the store. */
import { useQuery } from "@tanstack/react-query";
import { useCallback, useEffect } from "react";

import type { DesignerStore } from "@/designer/store";
import { api } from "@/lib/api";
import type { PinnedData } from "@/lib/types";

export const pinnedDataKey = (workflowId: string) => ["workflows", workflowId, "pinned-data"] as const;

export function usePinnedData(workflowId: string, store: DesignerStore, enabled = true) {
  const query = useQuery({
    queryKey: pinnedDataKey(workflowId),
    queryFn: () => api.get<PinnedData>(`workflows/${workflowId}/pinned-data/`),
    enabled,
    staleTime: Infinity,
  });
  useEffect(() => {
    if (query.data) store.getState().setPins(query.data);
  }, [query.data, store]);
  const save = useCallback(async (pins: PinnedData) => {
    const saved = await api.put<PinnedData>(`workflows/${workflowId}/pinned-data/`, pins);
    store.getState().setPins(saved);
    return saved;
  }, [workflowId, store]);
  return { loaded: query.isSuccess || query.isError, save };
}
