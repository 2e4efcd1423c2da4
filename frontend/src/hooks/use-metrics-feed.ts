/** The dashboard follows the live feed of executions (/ws/executions/): any transition refetches the
 * metrics, at most once every few seconds (they are aggregates; a burst of runs is one refetch). */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo } from "react";

import { metricsKeys } from "@/dashboard/queries";
import { throttle } from "@/monitor/throttle";

import { useLiveEvents, type LiveState } from "./use-live-events";

export const METRICS_THROTTLE_MS = 3_000;

export function useMetricsFeed(): LiveState {
  const client = useQueryClient();
  const refetch = useMemo(
    () => throttle(() => void client.invalidateQueries({ queryKey: metricsKeys.all }), METRICS_THROTTLE_MS),
    [client],
  );
  useEffect(() => () => refetch.cancel(), [refetch]);
  const onEvents = useCallback(() => refetch(), [refetch]);
  return useLiveEvents("ws/executions/", onEvents, refetch);
}
