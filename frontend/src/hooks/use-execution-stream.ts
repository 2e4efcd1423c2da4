/** The live feed of one execution (/ws/executions/<id>/): refetches its detail at most every 250 ms
 * after transitions, collects the log lines the socket brings, and refetches everything after a
 * reconnect (what happened while it was down). The socket is the mechanism; a slow poll by the
 * caller covers only the time it is closed. */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";

import type { ExecutionLog } from "@/lib/types";
import { logFromEvent } from "@/monitor/logs";
import { executionKeys } from "@/monitor/queries";
import { throttle } from "@/monitor/throttle";

import { useLiveEvents, type LiveEvent, type LiveState } from "./use-live-events";

const MAX_LIVE_LINES = 5000;

export function useExecutionStream(executionId: string): { live: LiveState; liveLogs: ExecutionLog[] } {
  const client = useQueryClient();
  const [liveLogs, setLiveLogs] = useState<ExecutionLog[]>([]);

  const refetchDetail = useMemo(
    () => throttle(() => void client.invalidateQueries({ queryKey: executionKeys.detail(executionId) }), 250),
    [client, executionId],
  );
  useEffect(() => () => refetchDetail.cancel(), [refetchDetail]);
  useEffect(() => setLiveLogs([]), [executionId]);

  const onEvents = useCallback((events: LiveEvent[]) => {
    const mine = events.filter((event) => event.execution_id === executionId);
    if (!mine.length) return;
    if (mine.some((event) => event.status || event.event !== "step.log")) refetchDetail();
    setLiveLogs((lines) => [...lines, ...mine.map(logFromEvent)].slice(-MAX_LIVE_LINES));
  }, [executionId, refetchDetail]);

  const onReconnect = useCallback(() => {
    void client.invalidateQueries({ queryKey: executionKeys.detail(executionId) });
    void client.invalidateQueries({ queryKey: executionKeys.logs(executionId) });
  }, [client, executionId]);

  const live = useLiveEvents(`ws/executions/${executionId}/`, onEvents, onReconnect);
  // Once the socket first opens, fetch the detail again: what happened between the page's first fetch
  // and the opening came on no socket (a replay's steps, answered from mocks, end within milliseconds).
  const caughtUp = useRef<string | null>(null);
  useEffect(() => {
    if (live !== "open" || caughtUp.current === executionId) return;
    caughtUp.current = executionId;
    refetchDetail();
  }, [live, executionId, refetchDetail]);
  return { live, liveLogs };
}
