/** The live feed of one execution (/ws/executions/<id>/): applies the transitions the socket brings to
 * the cached run, and adds its log lines, as they arrive (in batches, at most every 150 ms), refetches the run to fill in the rest
 * (outputs, new attempts, the run's own status) coalesced to at most once a second, each reading after
 * the events that asked for it without cancelling one in flight, collects the log lines, and refetches everything each time the socket opens
 * (what happened before it was open, or while it was down). A refetch that answers replays over its
 * answer the transitions that arrived while it was in flight (it may have read before they committed).
 * The socket is the mechanism; a slow poll by the caller covers only the time it is closed. */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState } from "react";

import type { ExecutionDetail, ExecutionLog } from "@/lib/types";
import { applyEvents, EventJournal } from "@/monitor/live-patch";
import { logFromEvent } from "@/monitor/logs";
import { executionKeys } from "@/monitor/queries";
import { coalesce, throttle } from "@/monitor/throttle";

import { useLiveEvents, type LiveEvent, type LiveState } from "./use-live-events";

const MAX_LIVE_LINES = 5000;
/** How often the batched transitions reach the cache (and the screen). */
export const APPLY_EVERY_MS = 150;
/** At most one refetch of the run a second while events keep coming. */
export const REFETCH_EVERY_MS = 1000;

export function useExecutionStream(executionId: string): { live: LiveState; liveLogs: ExecutionLog[]; journal: EventJournal } {
  const client = useQueryClient();
  const [liveLogs, setLiveLogs] = useState<ExecutionLog[]>([]);
  // One journal per run (a new one when the page moves to another run).
  const journal = useMemo(() => new EventJournal(executionId), [executionId]);

  const { refetchDetail, applyPending, pending, pendingLines } = useMemo(() => {
    const pending: LiveEvent[] = [];
    const pendingLines: LiveEvent[] = [];
    const key = executionKeys.detail(executionId);
    return {
      pending,
      pendingLines,
      // A refetch that reads after the events that asked for it: one in flight (it may have read before
      // them) is waited for, never cancelled (one that is always replaced never answers), then another.
      refetchDetail: coalesce(async () => {
        while (client.isFetching({ queryKey: key, exact: true })) await new Promise((resolve) => setTimeout(resolve, 50));
        await client.invalidateQueries({ queryKey: key }, { cancelRefetch: false });
      }, REFETCH_EVERY_MS),
      // Transitions and log lines reach the page together, one render per batch (a render per message
      // kept a big run's page busy re-rendering while the events came).
      applyPending: throttle(() => {
        const events = pending.splice(0);
        const lines = pendingLines.splice(0);
        if (events.length) client.setQueryData<ExecutionDetail>(key, (detail) => (detail ? applyEvents(detail, events) : detail));
        if (lines.length) setLiveLogs((shown) => [...shown, ...lines.map(logFromEvent)].slice(-MAX_LIVE_LINES));
      }, APPLY_EVERY_MS),
    };
  }, [client, executionId]);
  useEffect(() => () => {
    refetchDetail.cancel();
    applyPending.cancel();
    pending.length = 0;
    pendingLines.length = 0;
  }, [refetchDetail, applyPending, pending, pendingLines]);
  useEffect(() => setLiveLogs([]), [executionId]);

  const onEvents = useCallback((events: LiveEvent[]) => {
    const mine = events.filter((event) => event.execution_id === executionId);
    if (!mine.length) return;
    const transitions = mine.filter((event) => event.status);
    journal.add(transitions);
    pending.push(...transitions);
    pendingLines.push(...mine);
    applyPending();
    if (transitions.length || mine.some((event) => event.event !== "step.log")) refetchDetail();
  }, [executionId, refetchDetail, applyPending, pending, pendingLines, journal]);

  const onConnect = useCallback(() => {
    // Once per (re)connection: a fetch in flight may have read before the socket listened, so it is replaced.
    void client.invalidateQueries({ queryKey: executionKeys.detail(executionId) });
    void client.invalidateQueries({ queryKey: executionKeys.logs(executionId) });
  }, [client, executionId]);

  const live = useLiveEvents(`ws/executions/${executionId}/`, onEvents, onConnect);
  return { live, liveLogs, journal };
}
