/** The step types this installation offers (the palette, config schemas, output schemas). */
import { useQuery } from "@tanstack/react-query";

import { api } from "@/lib/api";
import type { StepType } from "@/lib/types";

export const stepTypesKey = ["step-types"] as const;

export function useStepTypes() {
  return useQuery({
    queryKey: stepTypesKey,
    queryFn: () => api.get<StepType[]>("step-types/"),
    staleTime: 5 * 60_000,
  });
}
