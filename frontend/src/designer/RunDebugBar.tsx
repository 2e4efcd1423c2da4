/** A run opened in the designer (/workflows/<id>?execution=<run>, the monitor's "Open in designer"):
 * the run's data pinned on the steps (replacing the workflow's pins), its version shown read-only when
 * it is not the current one, and "Resume run with this fix": POST executions/<id>/retry/ with the
 * configs changed here as this run's overrides; the workflow itself is not changed. */
import { useQueryClient } from "@tanstack/react-query";
import { useContext, useEffect, useRef, useState } from "react";
import { Link } from "react-router";

import { StatusBadge } from "@/components/ui";
import { api } from "@/lib/api";
import { pinsFromExecution, resumeOverrides } from "@/lib/pins";
import { toast } from "@/lib/toast";
import type { ExecutionDetail, Workflow, WorkflowVersion } from "@/lib/types";
import { executionKeys, useExecution, useWorkflowVersion } from "@/monitor/queries";

import { PinsContext, useDesigner, useDesignerApi } from "./context";
import { versionSteps } from "./versions";

interface Props {
  executionId: string;
  workflow: Workflow;
  pinsLoaded: boolean;
  onViewVersion: (version: WorkflowVersion) => void;
  onResumed: (execution: ExecutionDetail) => void;
}

export function RunDebugBar({ executionId, workflow, pinsLoaded, onViewVersion, onResumed }: Props) {
  const store = useDesignerApi();
  const savePins = useContext(PinsContext);
  const queryClient = useQueryClient();
  const run = useExecution(executionId);
  const execution = run.data;
  const [openedAt] = useState(workflow.version); // a save here publishes a newer one: the run's stays editable
  const oldVersion = execution && execution.workflow_version !== openedAt ? execution.workflow_version : undefined;
  // The run's own version: what a run-only override is measured against (the workflow may be saved since).
  const version = useWorkflowVersion(workflow.id, execution?.workflow_version);
  const pinnedFrom = useDesigner((s) => s.pins?.source_execution);
  const [busy, setBusy] = useState(false);
  const pinnedOnce = useRef(false);
  const viewedOnce = useRef(false);

  useEffect(() => { // once: the run's data becomes the workflow's pins
    if (!execution || !pinsLoaded || !savePins || pinnedOnce.current || execution.workflow !== workflow.id) return;
    pinnedOnce.current = true;
    if (store.getState().pins?.source_execution === execution.id) return;
    savePins(pinsFromExecution(execution)).then(
      () => toast(`The data of run ${execution.id.slice(0, 8)} is pinned on the steps`),
      (error) => toast(`Could not pin the run's data: ${error instanceof Error ? error.message : String(error)}`, "error"));
  }, [execution, pinsLoaded, savePins, store, workflow.id]);

  useEffect(() => { // a run of an older version: that version, read-only
    if (version.data && oldVersion !== undefined && !viewedOnce.current) {
      viewedOnce.current = true;
      onViewVersion(version.data);
    }
  }, [version.data, oldVersion, onViewVersion]);

  if (run.isError) return <div className="fp-debugging" role="status">Run {executionId.slice(0, 8)} could not be read: {run.error.message}</div>;
  if (!execution) return <div className="fp-debugging" role="status">Loading run {executionId.slice(0, 8)}…</div>;

  const canResume = execution.allowed_actions.includes("retry") && oldVersion === undefined && !!version.data;
  const resume = async () => {
    const s = store.getState();
    const overrides = resumeOverrides({ steps: versionSteps(version.data!, new Map()), input: execution.input_data },
                                      { steps: s.steps(), input: s.pins?.input ?? execution.input_data });
    setBusy(true);
    try {
      const resumed = await api.post<ExecutionDetail>(`executions/${execution.id}/retry/`, overrides ? { overrides } : {});
      queryClient.setQueryData(executionKeys.detail(execution.id), resumed);
      void queryClient.invalidateQueries({ queryKey: executionKeys.lists() });
      toast(overrides ? "Run resumed with your fix (this run only: the workflow is unchanged)" : "Run resumed");
      onResumed(resumed);
    } catch (error) {
      toast(`Not resumed: ${error instanceof Error ? error.message : String(error)}`, "error");
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="fp-debugging" role="status" aria-label="Run opened in the designer">
      <span>
        Run <Link to={`/executions/${execution.id}`} className="mono">{execution.id.slice(0, 8)}</Link>{" "}
        <StatusBadge status={execution.status} /> on v{execution.workflow_version}
        {pinnedFrom === execution.id ? ": its recorded data is pinned on the steps." : "."}
        {oldVersion !== undefined && ` The workflow is now at v${workflow.version}: the run's version is shown read-only.`}
      </span>
      <span className="spacer" />
      {canResume && (
        <button type="button" className="btn btn-sm btn-primary" onClick={() => void resume()} disabled={busy}
                title="Resume this run at its failed steps with the configs changed here (this run only; Save changes the workflow)">
          {busy ? "Resuming…" : "Resume run with this fix"}
        </button>
      )}
      <Link className="btn btn-sm" to={`/executions/${execution.id}`}>Back to the run</Link>
    </div>
  );
}
