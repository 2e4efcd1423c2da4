/** The side panel: a selected step's attempts (status, worker, times), the chosen attempt's input,
 * output and error with its traceback, and the step's log lines; with no step, the run's own input,
 * output and error. */
import { Hourglass } from "lucide-react";
import { useEffect, useState } from "react";

import { ErrorDetails } from "@/components/ErrorDetails";
import { DecisionForm } from "@/approvals/DecisionForm";
import { formatDuration, formatTime, StatusBadge } from "@/components/ui";
import type { ExecutionDetail, ExecutionLog, TaskExecution, VersionStep, WhyReason } from "@/lib/types";

import { JsonBlock } from "./JsonBlock";
import { LogLine } from "./LogViewer";
import { StepWhy } from "./WhyPanel";

interface StepPanelProps {
  executionId: string;
  step: VersionStep | undefined;
  stepKey: string;
  attempts: TaskExecution[];
  logs: ExecutionLog[];
  now: number;
  onClose: () => void;
  /** Why the step is where it is (GET /executions/<id>/why/), when it is not over. */
  why?: WhyReason;
  /** The server allows "rerun" for this run (allowed_actions): offer "Rerun from here". */
  canRerun?: boolean;
  onRerun?: () => void;
  /** This run's override of the step's config (edit and resume), if any. */
  override?: Record<string, unknown>;
}

export function StepPanel({ executionId, step, stepKey, attempts, logs, now, onClose, why, canRerun, onRerun, override }: StepPanelProps) {
  const latest = attempts.find((attempt) => attempt.is_latest);
  const [chosenId, setChosenId] = useState<string | null>(null);
  useEffect(() => setChosenId(null), [stepKey]);
  const chosen = attempts.find((attempt) => attempt.id === chosenId) ?? latest;

  return (
    <aside className="monitor-panel card" aria-label={`Step ${stepKey}`} data-testid="step-panel">
      <header className="monitor-panel-head">
        <div className="monitor-panel-title">
          <h2>{step?.name || stepKey}</h2>
          <div className="muted small"><span className="mono">{stepKey}</span> · {step?.task_type ?? latest?.task_type}</div>
        </div>
        <StatusBadge status={latest?.status ?? "pending"} />
        <button type="button" className="btn btn-ghost btn-sm" onClick={onClose} title="Close (Esc)" aria-label="Close step panel">✕</button>
      </header>
      <div className="monitor-panel-body">
        {why && <StepWhy reason={why} />}
        {canRerun && onRerun && (
          <div className="monitor-panel-actions">
            <button type="button" className="btn btn-sm" onClick={onRerun}
                    title="Run this step and everything downstream of it again; upstream steps keep their outputs">
              Rerun from here
            </button>
          </div>
        )}
        {override && (
          <section className="monitor-override" data-testid="step-override">
            <JsonBlock label="Config overridden for this run" value={override} />
            <p className="muted small">Edit and resume: this run uses this config instead of its version's.</p>
          </section>
        )}
        {attempts.length === 0 ? (
          <p className="muted">This step has not been reached in this run.</p>
        ) : (
          <>
            <section>
              <h4>Attempts <span className="muted">({attempts.length})</span></h4>
              <ol className="monitor-attempts">
                {attempts.map((attempt) => (
                  <li key={attempt.id}>
                    <button type="button" className={`monitor-attempt${attempt.id === chosen?.id ? " monitor-attempt-on" : ""}`}
                            aria-pressed={attempt.id === chosen?.id} onClick={() => setChosenId(attempt.id)}
                            data-testid={`attempt-${attempt.attempt_number}`}>
                      <StatusBadge status={attempt.status} />
                      <strong>#{attempt.attempt_number}</strong>
                      {attempt.visit > 1 && <span className="muted small">visit {attempt.visit}</span>}
                      {attempt.mocked && <span className="badge fp-mocked" title="A replay's attempt answered from a mock or the original's output: not run">mocked</span>}
                      {attempt.workflow_version != null && <span className="muted small" title="The workflow version this attempt ran">v{attempt.workflow_version}</span>}
                      <span className="spacer" />
                      <span className="muted small">{shortTime(attempt.started_at ?? attempt.queued_at ?? attempt.created_at)}</span>
                      <span className="small monitor-attempt-duration">{formatDuration(attempt.started_at, attempt.completed_at, now)}</span>
                    </button>
                  </li>
                ))}
              </ol>
            </section>
            {chosen && <AttemptDetail attempt={chosen} executionId={executionId} />}
          </>
        )}
        <section>
          <h4>Log <span className="muted">({logs.length})</span></h4>
          {logs.length ? (
            <div className="monitor-panel-logs">{logs.map((line) => <LogLine key={line.id} line={line} compact />)}</div>
          ) : <p className="muted small">No log lines for this step at this level.</p>}
        </section>
      </div>
    </aside>
  );
}

function AttemptTimes({ attempt }: { attempt: TaskExecution }) {
  const rows: [string, string | null][] = [
    ["Queued", attempt.queued_at], ["Started", attempt.started_at], ["Finished", attempt.completed_at],
  ];
  if (attempt.wake_at && (attempt.status === "retrying" || attempt.status === "waiting")) rows.push([attempt.status === "retrying" ? "Retry at" : "Wakes at", attempt.wake_at]);
  return (
    <dl className="monitor-times">
      {rows.filter(([, value]) => value).map(([label, value]) => (
        <div key={label}><dt>{label}</dt><dd>{formatTime(value)}</dd></div>
      ))}
      {attempt.worker_id && <div><dt>Worker</dt><dd className="mono">{attempt.worker_id}</dd></div>}
    </dl>
  );
}

function shortTime(iso: string | null): string {
  return iso ? new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
}

/** A waiting approval (or signal) step, as the server says (`awaiting`): what it waits for, its
 * message, Approve / Reject, and the signed links a message can carry. */
function Awaiting({ attempt, executionId }: { attempt: TaskExecution; executionId: string }) {
  const kind = attempt.awaiting === "approval" ? "approval" : "signal";
  const parked = (attempt.output_data ?? {}) as Record<string, unknown>;
  const message = typeof parked.message === "string" ? parked.message : "";
  const links = [["Approve link", parked.approve_url], ["Reject link", parked.reject_url]]
    .filter((pair): pair is [string, string] => typeof pair[1] === "string");
  return (
    <section className="monitor-awaiting" data-testid="step-awaiting">
      <h4><Hourglass size={13} aria-hidden="true" /> {kind === "approval" ? "Awaiting approval" : `Awaiting signal “${attempt.signal_name}”`}</h4>
      {message && <p className="approval-message">{message}</p>}
      {attempt.wake_at && <p className="muted small">Times out {formatTime(attempt.wake_at)}.</p>}
      {attempt.is_latest && <DecisionForm taskExecutionId={attempt.id} executionId={executionId} stepKey={attempt.step_key} kind={kind} compact />}
      {links.length > 0 && (
        <details className="monitor-awaiting-links">
          <summary>Links for an email or Slack message</summary>
          <p className="muted small">Signed, single-use, expiring. In a send_email or slack step beside this one:
            <code>{`{{ approvals.${attempt.step_key}.approve_url }}`}</code>, <code>{`{{ approvals.${attempt.step_key}.reject_url }}`}</code>.</p>
          {links.map(([label, url]) => <div key={label} className="small"><strong>{label}</strong> <code className="monitor-link-url">{url}</code></div>)}
        </details>
      )}
    </section>
  );
}

/** How a completed approval or signal step was answered: the `decision` the server kept (who, how, when, why). */
function Decided({ attempt }: { attempt: TaskExecution }) {
  const decision = (attempt.output_data as { decision?: Record<string, unknown> } | null)?.decision;
  if (!decision || typeof decision !== "object") return null;
  const verdict = decision.approved === true ? "Approved" : decision.approved === false ? "Rejected" : "Answered";
  const by = typeof decision.by === "string" && decision.by ? ` by ${decision.by}` : "";
  const how = decision.via === "link" ? " (by link)" : "";
  return (
    <section className={`monitor-decided monitor-decided-${verdict.toLowerCase()}`} data-testid="step-decision">
      <h4>Decision</h4>
      <p><strong>{verdict}</strong>{by}{how}{typeof decision.at === "string" && <> · {formatTime(decision.at)}</>}</p>
      {typeof decision.comment === "string" && decision.comment && <p className="approval-message">“{decision.comment}”</p>}
    </section>
  );
}

function AttemptDetail({ attempt, executionId }: { attempt: TaskExecution; executionId: string }) {
  const traceback = typeof attempt.error_details?.traceback === "string" ? attempt.error_details.traceback : "";
  const awaiting = attempt.status === "waiting" && attempt.awaiting;
  return (
    <>
      <section>
        <h4>
          Attempt {attempt.attempt_number}{attempt.visit > 1 ? `, visit ${attempt.visit}` : ""}
          {attempt.workflow_version != null && <span className="muted small" data-testid="attempt-version"> · ran on v{attempt.workflow_version}</span>}
        </h4>
        {attempt.compensates && (
          <p className="fp-node-compensation-mark" data-testid="attempt-compensates">
            Compensation of <code>{attempt.compensates}</code> (the run undoes its completed steps, latest first)
          </p>
        )}
        <AttemptTimes attempt={attempt} />
      </section>
      {awaiting && <Awaiting attempt={attempt} executionId={executionId} />}
      {attempt.status === "completed" && <Decided attempt={attempt} />}
      {attempt.error_message && (
        <section className="monitor-error" role="alert">
          <h4>Error</h4>
          <pre className="monitor-error-message">{attempt.error_message}</pre>
          <ErrorDetails details={attempt.error_details} />
          {traceback && (
            <details className="monitor-traceback">
              <summary>Traceback</summary>
              <pre>{traceback}</pre>
            </details>
          )}
        </section>
      )}
      <JsonBlock label="Input" value={attempt.input_data} empty="Not rendered yet." />
      {awaiting ? (
        <JsonBlock label="Output" value={null} empty={attempt.awaiting === "approval" ? "None yet: awaiting approval." : "None yet: awaiting the signal."} />
      ) : (
        <JsonBlock label="Output" value={attempt.output_data} empty={attempt.status === "completed" ? "No output." : "No output yet."} />
      )}
    </>
  );
}

/** With no step selected: the run's input, output and error. */
export function RunPanel({ execution }: { execution: ExecutionDetail }) {
  return (
    <aside className="monitor-panel card" aria-label="Run details" data-testid="run-panel">
      <header className="monitor-panel-head">
        <div className="monitor-panel-title">
          <h2>Run</h2>
          <div className="muted small">Click a step to see its attempts, data and log.</div>
        </div>
      </header>
      <div className="monitor-panel-body">
        {execution.error_message && (
          <section className="monitor-error" role="alert">
            <h4>Error</h4>
            <pre className="monitor-error-message">{execution.error_message}</pre>
          </section>
        )}
        <JsonBlock label="Input" value={execution.input_data} empty="No input." />
        <RunOverrides execution={execution} />
        <JsonBlock label="Output" value={execution.output_data}
                   empty={execution.status === "running" || execution.status === "pending" ? "Not finished yet." : "No output."} />
      </div>
    </aside>
  );
}

/** Edit and resume's overrides of this run (the workflow is unchanged): who, when, and what. */
export function RunOverrides({ execution }: { execution: ExecutionDetail }) {
  const overrides = execution.overrides ?? {};
  const stepKeys = Object.keys(overrides.steps ?? {});
  if (!overrides.input && !stepKeys.length) return null;
  return (
    <section className="monitor-override" data-testid="run-overrides">
      <h4>Edited for this run</h4>
      <p className="small">
        {execution.overridden_by ? <>By <strong>{execution.overridden_by}</strong></> : "Edited"}
        {execution.overridden_at && <> · {formatTime(execution.overridden_at)}</>}
        {stepKeys.length > 0 && <> · config of {stepKeys.map((key) => <span key={key} className="mono"> {key}</span>)}</>}
      </p>
      {overrides.input && <JsonBlock label="Input used from then on" value={overrides.input} />}
    </section>
  );
}
