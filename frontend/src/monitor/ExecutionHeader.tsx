/** The top of an execution's page: which workflow and version, status, timing, trigger, input, and the
 * Retry / Cancel / Pause / Resume / Replay actions with their shortcuts: exactly those the server lists in `allowed_actions`
 * (the rule lives in its state table; the page never works it out from the status). A replay says which run
 * it replays. */
import { useState } from "react";
import { Link } from "react-router";

import { formatDuration, formatTime, HandledFailures, StatusBadge } from "@/components/ui";
import type { LiveState } from "@/hooks/use-live-events";
import type { ExecutionDetail } from "@/lib/types";

import { LiveIndicator } from "./LiveIndicator";

export const SHORTCUTS: [string, string][] = [
  ["r", "Retry the run (resume at its failed steps)"],
  ["c", "Cancel the run"],
  ["p", "Replay the run as a dry run"],
  ["Esc", "Close the step panel"],
  ["?", "Show these shortcuts"],
];

interface Props {
  execution: ExecutionDetail;
  live: LiveState;
  now: number;
  progress: { done: number; total: number };
  onRetry: () => void;
  onCancel: () => void;
  onEdit?: () => void;
  onReplay?: () => void;
  onPause?: () => void;
  onUnpause?: () => void;
  showHelp: boolean;
  onToggleHelp: () => void;
}

/** What each compensation phase (docs/adr/0035) means, as the badge's tooltip. */
const PHASE_HELP: Record<string, string> = {
  compensating: "Undoing its completed steps: their compensation steps run one at a time, latest completed first",
  compensated: "Its completed steps were undone: every compensation completed",
  compensation_failed: "A compensation failed for good (or was stopped): the ones after it did not run",
};

export function ExecutionHeader({ execution, live, now, progress, onRetry, onCancel, onEdit, onReplay, onPause, onUnpause, showHelp, onToggleHelp }: Props) {
  const [inputOpen, setInputOpen] = useState(false);
  const canRetry = execution.allowed_actions.includes("retry");
  const canCancel = execution.allowed_actions.includes("cancel");
  const canEdit = execution.allowed_actions.includes("edit") && onEdit !== undefined;
  const canReplay = execution.allowed_actions.includes("replay") && onReplay !== undefined;
  const canPause = execution.allowed_actions.includes("pause") && onPause !== undefined;
  const canUnpause = execution.allowed_actions.includes("unpause") && onUnpause !== undefined;
  const input = JSON.stringify(execution.input_data ?? {});
  return (
    <header className="monitor-header card">
      <div className="monitor-header-top">
        <Link to="/executions" className="btn btn-ghost btn-sm" title="All executions">← Executions</Link>
        <h1>
          <Link to={`/workflows/${execution.workflow}`} title="Open the workflow in the designer">{execution.workflow_name}</Link>
          <span className="monitor-version">v{execution.workflow_version}</span>
        </h1>
        <StatusBadge status={execution.status} />
        <HandledFailures execution={execution} />
        {execution.is_replay && (execution.replay_of ? (
          <Link to={`/executions/${execution.replay_of}`} className="badge fp-replay" title="A dry run of this run: open the original">
            replay of #{execution.replay_of.slice(0, 8)}
          </Link>
        ) : <span className="badge fp-replay" title="A dry run of a run since deleted">replay</span>)}
        {execution.test_run && (
          <span className="badge fp-replay" title="Started from the designer: steps with pinned outputs answered from their pins (mocked), the rest ran for real">
            test run with pins
          </span>
        )}
        {execution.phase && (
          <span className={`badge fp-phase fp-phase-${execution.phase}`} data-testid="execution-phase"
                title={PHASE_HELP[execution.phase]}>
            {execution.phase.replace("_", " ")}
          </span>
        )}
        <LiveIndicator state={live} />
        <span className="spacer" />
        <Link className="btn" to={`/workflows/${execution.workflow}?execution=${execution.id}`}
              title="The run's version in the designer, each step's recorded input and output pinned on it">
          Open in designer
        </Link>
        {canRetry && (
          <button type="button" className="btn btn-primary" onClick={onRetry} title="Resume at the failed steps (r)" aria-keyshortcuts="r">
            Retry <kbd>r</kbd>
          </button>
        )}
        {canEdit && (
          <button type="button" className="btn" onClick={onEdit} title="Change this run's input or its failed steps' config, then resume">
            Edit and resume
          </button>
        )}
        {canPause && (
          <button type="button" className="btn" onClick={onPause}
                  title="No new step starts and its timers wait; steps already running finish">
            Pause
          </button>
        )}
        {canUnpause && (
          <button type="button" className="btn btn-primary" onClick={onUnpause} title="Carry on where it stopped">
            Resume
          </button>
        )}
        {canCancel && (
          <button type="button" className="btn btn-danger" onClick={onCancel} title="Stop the run (c)" aria-keyshortcuts="c">
            Cancel <kbd>c</kbd>
          </button>
        )}
        {canReplay && (
          <button type="button" className="btn" onClick={onReplay} title="Run it again with side effects held back (p)" aria-keyshortcuts="p">
            Replay (dry run) <kbd>p</kbd>
          </button>
        )}
        <div className="monitor-help-wrap">
          <button type="button" className="btn btn-ghost btn-sm" onClick={onToggleHelp} aria-expanded={showHelp} title="Keyboard shortcuts (?)">
            <kbd>?</kbd>
          </button>
          {showHelp && (
            <div className="monitor-help card" role="dialog" aria-label="Keyboard shortcuts">
              <h4>Keyboard shortcuts</h4>
              <dl>{SHORTCUTS.map(([key, text]) => <div key={key}><dt><kbd>{key}</kbd></dt><dd>{text}</dd></div>)}</dl>
            </div>
          )}
        </div>
      </div>
      <dl className="monitor-meta">
        <div><dt>Started</dt><dd title={formatTime(execution.started_at ?? execution.created_at)}>{formatTime(execution.started_at ?? execution.created_at)}</dd></div>
        <div><dt>Duration</dt><dd>{formatDuration(execution.started_at, execution.completed_at, now)}</dd></div>
        <div><dt>Steps</dt><dd>{progress.done} / {progress.total} done</dd></div>
        <div><dt>Trigger</dt><dd><span className="monitor-trigger">{execution.triggered_by}</span>{execution.triggered_by_user ? ` by ${execution.triggered_by_user}` : ""}</dd></div>
        {execution.retry_count > 0 && <div><dt>Retries</dt><dd>{execution.retry_count}</dd></div>}
        {execution.overridden_at && (
          <div><dt>Edited</dt><dd data-testid="header-edited">{execution.overridden_by ? `by ${execution.overridden_by}` : "yes"}</dd></div>
        )}
        <div><dt>Run</dt><dd className="mono" title={execution.id}>{execution.id.slice(0, 8)}</dd></div>
        {Object.keys(execution.search ?? {}).length > 0 && (
          <div className="monitor-meta-search">
            <dt>Search</dt>
            <dd>
              {Object.entries(execution.search).map(([name, value]) => (
                <Link key={name} className="monitor-search-value" to={`/executions?${new URLSearchParams({ [`search.${name}`]: value })}`}
                      title={`All runs whose ${name} is ${value}`}>
                  <span className="muted">{name}</span> <span className="mono">{value}</span>
                </Link>
              ))}
            </dd>
          </div>
        )}
        <div className="monitor-meta-input">
          <dt>Input</dt>
          <dd>
            <button type="button" className="monitor-input-preview mono" onClick={() => setInputOpen(!inputOpen)} aria-expanded={inputOpen} title="Show the whole input">
              {input.length > 90 ? `${input.slice(0, 90)}…` : input}
            </button>
          </dd>
        </div>
      </dl>
      {inputOpen && <pre className="monitor-input-full">{JSON.stringify(execution.input_data, null, 2)}</pre>}
      {execution.error_message && execution.status === "failed" && (
        <p className="monitor-header-error" role="alert"><strong>Failed:</strong> {execution.error_message}</p>
      )}
    </header>
  );
}
