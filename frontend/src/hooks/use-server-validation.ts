/** The designer's checks are the server's: a while after the last edit, the graph on screen is sent
 * to POST /api/v1/workflows/validate/ (the same body as a save, checked as a PUT of this workflow),
 * and its answer (errors, and warnings such as a missing credential) is shown on the steps and fields it names. A newer edit aborts the request in
 * flight, and an answer for a graph that has changed since is dropped. The answer, `pause(true)`,
 * stops the checks (the timer and the request in flight) until `pause(false)`: a delete of this
 * workflow pauses them first, so that no check of a deleted workflow follows it (a 404). */
import { useCallback, useEffect, useRef } from "react";

import type { DesignerStore } from "@/designer/store";
import { api } from "@/lib/api";
import type { WorkflowValidation } from "@/lib/types";
import { serverIssues, withWarnings } from "@/lib/validation";

/** Long enough not to ask on every keystroke, short enough to answer while the user looks. */
export const VALIDATE_DELAY_MS = 500;

export function useServerValidation(store: DesignerStore, workflowId: string,
                                    delay = VALIDATE_DELAY_MS): (paused: boolean) => void {
  const pauser = useRef<(paused: boolean) => void>(() => {});
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight: AbortController | null = null;
    let paused = false;

    const check = async () => {
      const s = store.getState();
      if (paused || s.viewing?.code) return; // a code workflow's graph is the code's: not saved from here
      const controller = new AbortController();
      inFlight = controller;
      const { revision } = s;
      const steps = s.steps();
      try {
        const answer = await api.post<WorkflowValidation>(
          `workflows/validate/?workflow=${encodeURIComponent(workflowId)}`,
          { name: s.name.trim(), description: s.description, steps }, { signal: controller.signal });
        const now = store.getState();
        if (controller.signal.aborted || now.revision !== revision || now.viewing !== s.viewing) return;
        const mapped = serverIssues(answer.errors, steps);
        const warned = serverIssues(answer.warnings ?? {}, steps, "warning"); // shown on the steps, never blocking
        now.setServerErrors(withWarnings(mapped.byStep, warned.byStep), mapped.general, revision);
      } catch {
        // Aborted by a newer edit, or the server is unreachable: saving still checks, and says why.
      } finally {
        if (inFlight === controller) inFlight = null;
      }
    };
    const schedule = () => {
      inFlight?.abort(); // its answer would be about a graph no longer on screen
      inFlight = null;
      clearTimeout(timer);
      if (!paused) timer = setTimeout(() => void check(), delay);
    };
    pauser.current = (pause: boolean) => {
      paused = pause;
      schedule(); // paused: the timer cleared and the request in flight aborted; resumed: a check soon
    };

    schedule();
    const unsubscribe = store.subscribe((state, previous) => {
      if (state.revision !== previous.revision || state.viewing !== previous.viewing) schedule();
    });
    return () => {
      unsubscribe();
      clearTimeout(timer);
      inFlight?.abort();
      pauser.current = () => {};
    };
  }, [store, workflowId, delay]);
  return useCallback((paused: boolean) => pauser.current(paused), []);
}
