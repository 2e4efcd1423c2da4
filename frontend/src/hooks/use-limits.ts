/** The server's bounds on the numbers a workflow can set (GET /api/v1/limits/): the designer checks
 * these, never a copy of them. */
import { useQuery } from "@tanstack/react-query";

import { api } from "@/lib/api";
import type { Limits } from "@/lib/types";

export const limitsKey = ["limits"] as const;

export function useLimits() {
  return useQuery({
    queryKey: limitsKey,
    queryFn: () => api.get<Limits>("limits/"),
    staleTime: 5 * 60_000,
  });
}
