/** /executions/:executionId: one run, live: header and actions, the graph coloured by step status, the
 * selected step's attempts and data, the Gantt timeline and the log. */
import { useMemo, useState } from "react";
import { useNavigate, useParams, useSearchParams } from "react-router";

import { EmptyState, ErrorState, Spinner } from "@/components/ui";
import { useExecutionStream } from "@/hooks/use-execution-stream";
import { useHotkeys } from "@/hooks/use-hotkeys";
import { useNow } from "@/hooks/use-now";
import { ApiError } from "@/lib/api";
import { toast } from "@/lib/toast";
import type { ExecutionDetail, LogLevel, VersionStep } from "@/lib/types";

import { ConfirmDialog } from "./ConfirmDialog";
import { EditResumeDialog } from "./EditResumeDialog";
import type { Overrides } from "./edit-resume";
import { defaultRetryVersion, retryChoices, type RetryVersion } from "./retry-version";
import { RetryVersionChoice } from "./RetryVersionChoice";
import { attemptsByStep, progress } from "./execution-state";
import { ExecutionHeader } from "./ExecutionHeader";
import { LogViewer } from "./LogViewer";
import { filterLogs, mergeLogs } from "./logs";
import { MonitorGraph } from "./MonitorGraph";
import {
  LIVE_SAFETY_POLL_MS, useExecution, useExecutionAction, useExecutionLogs, useExecutionWhy, useReplay, useWorkflowVersion,
} from "./queries";
import { ReplayCompare } from "./ReplayCompare";
import { ReplayDialog, type ReplayRequest } from "./ReplayDialog";
import { RunPanel, StepPanel } from "./StepPanel";
import { Timeline } from "./Timeline";
import { showWhyPanel, stepReason } from "./why";
import { WhyPanel } from "./WhyPanel";

export function ExecutionPage() {
  const { executionId = "" } = useParams();
  const { live, liveLogs, journal } = useExecutionStream(executionId);
  const detail = useExecution(executionId, { poll: live === "open" ? false : 5_000, pollWhileMoving: LIVE_SAFETY_POLL_MS,
                                             journal });

  if (detail.isPending) return <Spinner label="Loading execution…" />;
  if (detail.isError) {
    if (detail.error instanceof ApiError && detail.error.status === 404) {
      return <EmptyState title="No such execution">It does not exist, or it is not yours.</EmptyState>;
    }
    return <ErrorState error={detail.error} onRetry={() => detail.refetch()} />;
  }
  return <ExecutionView execution={detail.data} live={live} liveLogs={liveLogs} />;
}

type Confirm = "retry" | "cancel" | "edit" | "rerun" | "replay" | null;

function ExecutionView({ execution, live, liveLogs }: {
  execution: ExecutionDetail; live: ReturnType<typeof useExecutionStream>["live"]; liveLogs: ReturnType<typeof useExecutionStream>["liveLogs"];
}) {
  const version = useWorkflowVersion(execution.workflow, execution.workflow_version);
  const steps: VersionStep[] = useMemo(() => version.data?.definition.steps ?? [], [version.data]);
  const [search] = useSearchParams();
  const [selectedKey, setSelectedKey] = useState<string | null>(search.get("step"));  // ?step=: the Approvals page's link
  const [level, setLevel] = useState<LogLevel>("info");
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [showHelp, setShowHelp] = useState(false);
  const active = execution.status === "running" || execution.status === "pending";
  const now = useNow(1000, active);
  const retry = useExecutionAction(execution.id, "retry");
  const cancel = useExecutionAction(execution.id, "cancel");
  const rerun = useExecutionAction(execution.id, "rerun");
  const pause = useExecutionAction(execution.id, "pause");
  const unpause = useExecutionAction(execution.id, "unpause");
  const edit = useExecutionAction(execution.id, "retry");  // edit and resume: a retry with overrides
  const logs = useExecutionLogs(execution.id, level);
  const why = useExecutionWhy(execution.id, { poll: active ? 5_000 : false });
  const replay = useReplay(execution.id);
  const navigate = useNavigate();
  const original = useExecution(execution.replay_of ?? "", { enabled: Boolean(execution.replay_of) });

  const lines = useMemo(() => mergeLogs(logs.data?.logs ?? [], liveLogs), [logs.data, liveLogs]);
  const byStep = useMemo(() => attemptsByStep(execution.task_executions), [execution.task_executions]);
  const canRetry = execution.allowed_actions.includes("retry");
  const canCancel = execution.allowed_actions.includes("cancel");
  const canRerun = execution.allowed_actions.includes("rerun");
  const canReplay = execution.allowed_actions.includes("replay");

  useHotkeys({
    r: () => canRetry && openRetry(),
    c: () => canCancel && setConfirm("cancel"),
    p: () => canReplay && openReplay(),
    "?": () => setShowHelp((open) => !open),
    Escape: () => {
      if (showHelp) setShowHelp(false);
      else setSelectedKey(null);
    },
  }, confirm === null);

  const [retryVersion, setRetryVersion] = useState<RetryVersion>("original");
  const [compensate, setCompensate] = useState(false);
  // A workflow whose steps name compensations may be cancelled with {"compensate": true} (docs/adr/0035).
  const compensable = !execution.phase && execution.status === "running" && steps.some((s) => s.compensate_with);
  const openRetry = () => {
    setRetryVersion(defaultRetryVersion(execution));
    setConfirm("retry");
  };
  const run = (which: "retry" | "cancel") => {
    const mutation = which === "retry" ? retry : cancel;
    const body = which === "retry" ? { version: retryVersion } : compensate && compensable ? { compensate: true } : undefined;
    mutation.mutate(body, {
      onSuccess: (detail) => {
        toast(which === "retry" ? `Retrying from the failed steps on v${detail.workflow_version}.`
          : detail.phase === "compensating" ? "Compensating: the completed steps are being undone, then the run is cancelled."
          : "Execution cancelled.");
        setConfirm(null);
      },
      onError: (error) => {
        toast(`${which === "retry" ? "Retry" : "Cancel"} failed: ${error.message}`, "error");
        setConfirm(null);
      },
    });
  };

  const pauseOrResume = (which: "pause" | "unpause") => {
    (which === "pause" ? pause : unpause).mutate(undefined, {
      onSuccess: () => toast(which === "pause" ? "Paused: no new step starts until it is resumed." : "Resumed where it stopped."),
      onError: (error) => toast(`${which === "pause" ? "Pause" : "Resume"} failed: ${error.message}`, "error"),
    });
  };

  const rerunFrom = (key: string) => {
    rerun.mutate({ from_step: key }, {
      onSuccess: () => {
        toast(`Rerunning from ${key}: it and the steps after it run again.`);
        setConfirm(null);
      },
      onError: (error) => {
        toast(`Rerun failed: ${error.message}`, "error");
        setConfirm(null);
      },
    });
  };
  const resumeWith = (overrides: Overrides) => {
    edit.mutate({ overrides }, {
      onSuccess: () => {
        toast("Resuming with the edited values (this run only).");
        setConfirm(null);
      },
    });  // a refusal (400: the server names the field) stays in the dialog
  };
  const openReplay = () => {
    replay.reset();
    setConfirm("replay");
  };
  const startReplay = (request: ReplayRequest) => {
    replay.mutate(request, {
      onSuccess: (detail) => {
        toast(`Replaying as a dry run on v${detail.workflow_version}.`);
        setConfirm(null);
        void navigate(`/executions/${detail.id}`);
      },
    });
  };

  const selectedStep = steps.find((step) => step.key === selectedKey);
  // Kept between renders (the graph and the timeline redraw only when what they show changed).
  const timelineSteps = useMemo(() => (steps.length ? steps : [...byStep.keys()].map((key) => ({ key, name: key }))), [steps, byStep]);
  const overriddenSteps = execution.overrides?.steps;
  const edited = useMemo(() => Object.keys(overriddenSteps ?? {}), [overriddenSteps]);

  return (
    <div className="monitor-detail">
      <ExecutionHeader execution={execution} live={live} now={now} progress={progress(steps, execution.task_executions, execution.handled_failures)}
                       onRetry={openRetry} onCancel={() => setConfirm("cancel")} onReplay={openReplay}
                       onPause={() => pauseOrResume("pause")} onUnpause={() => pauseOrResume("unpause")}
                       onEdit={() => { edit.reset(); setConfirm("edit"); }}
                       showHelp={showHelp} onToggleHelp={() => setShowHelp(!showHelp)} />

      {showWhyPanel(why.data) && why.data && <WhyPanel why={why.data} />}

      <div className="monitor-main">
        <div className="monitor-canvas card">
          {version.isPending ? <Spinner label="Loading the workflow graph…" />
            : version.isError ? <ErrorState error={version.error} onRetry={() => version.refetch()} />
            : !steps.length ? <EmptyState title="No graph">Version {execution.workflow_version} of this workflow has no steps to draw.</EmptyState>
            : <MonitorGraph steps={steps} edges={version.data?.definition.edges} tasks={execution.task_executions} selectedKey={selectedKey} onSelect={setSelectedKey}
                              edited={edited} />}
        </div>
        {selectedKey ? (
          <StepPanel executionId={execution.id} step={selectedStep} stepKey={selectedKey} attempts={byStep.get(selectedKey) ?? []} now={now}
                     why={stepReason(why.data, selectedKey)}
                     logs={filterLogs(lines, { level, stepKey: selectedKey })} onClose={() => setSelectedKey(null)}
                     canRerun={canRerun} onRerun={() => setConfirm("rerun")}
                     override={execution.overrides?.steps?.[selectedKey]?.config} />
        ) : (
          <RunPanel execution={execution} />
        )}
      </div>

      {execution.replay_of && original.data && <ReplayCompare original={original.data} replay={execution} />}

      <Timeline execution={execution} steps={timelineSteps} now={now} selectedKey={selectedKey} onSelect={setSelectedKey} />

      <LogViewer lines={lines} level={level} onLevel={setLevel} stepKey={selectedKey} onStepKey={setSelectedKey}
                 loading={logs.isPending} error={logs.isError ? logs.error.message : null}
                 older={logs.data ? Math.max(0, logs.data.offset) : 0} />

      {confirm === "retry" && (
        <ConfirmDialog title="Retry this execution?" confirmLabel="Retry" busy={retry.isPending}
                       onConfirm={() => run("retry")} onClose={() => setConfirm(null)}>
          <p>The run resumes at its failed and cancelled steps; steps that completed keep their results and are not run again.</p>
          <RetryVersionChoice choices={retryChoices(execution)} value={retryVersion} onChange={setRetryVersion} />
        </ConfirmDialog>
      )}
      {confirm === "rerun" && selectedKey && (
        <ConfirmDialog title={`Rerun from ${selectedKey}?`} confirmLabel="Rerun from here" busy={rerun.isPending}
                       onConfirm={() => rerunFrom(selectedKey)} onClose={() => setConfirm(null)}>
          <p>The same run is re-opened: <span className="mono">{selectedKey}</span> and every step after it run again as new attempts; the steps before it keep their outputs.</p>
        </ConfirmDialog>
      )}
      {confirm === "edit" && (
        <EditResumeDialog execution={execution} steps={steps} busy={edit.isPending} error={edit.error?.message ?? null}
                          onSubmit={resumeWith} onClose={() => setConfirm(null)} />
      )}
      {confirm === "replay" && (
        <ReplayDialog execution={execution} latest={execution.retry_latest?.version} busy={replay.isPending}
                      error={replay.isError ? replay.error.message : null} onReplay={startReplay} onClose={() => setConfirm(null)} />
      )}
      {confirm === "cancel" && (
        <ConfirmDialog title="Cancel this execution?" confirmLabel="Cancel execution" danger busy={cancel.isPending}
                       onConfirm={() => run("cancel")} onClose={() => setConfirm(null)}>
          <p>No new step starts: pending, queued, waiting and retrying steps are cancelled. A step already running finishes, and its result is kept.</p>
          {compensable && (
            <label className="fp-check">
              <input type="checkbox" checked={compensate} onChange={(e) => setCompensate(e.target.checked)}
                     data-testid="cancel-compensate" />
              {" "}Compensate: undo the completed steps first (their compensation steps run, latest completed first)
            </label>
          )}
        </ConfirmDialog>
      )}
    </div>
  );
}
