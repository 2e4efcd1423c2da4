/** The live feed of all the user's executions (/ws/executions/): any transition refetches the
 * executions lists, at most once a second. */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo } from "react";

import { executionKeys } from "@/monitor/queries";
import { throttle } from "@/monitor/throttle";

import { useLiveEvents, type LiveState } from "./use-live-events";

export function useExecutionsFeed(): LiveState {
  const client = useQueryClient();
  const refetch = useMemo(
    () => throttle(() => void client.invalidateQueries({ queryKey: executionKeys.lists() }), 1000),
    [client],
  );
  useEffect(() => () => refetch.cancel(), [refetch]);
  const onEvents = useCallback(() => refetch(), [refetch]);
  return useLiveEvents("ws/executions/", onEvents, refetch);
}
