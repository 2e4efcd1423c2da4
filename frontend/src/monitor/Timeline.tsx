/** The run as a Gantt chart: one row per step, a bar per phase of each attempt (backoff before a retry,
 * queued, running) coloured by status, on a time axis from the start of the run; it grows while the run is live. */
import { Fragment, useMemo } from "react";

import { formatDuration } from "@/components/ui";
import { compensationSteps } from "@/lib/graph";
import type { ExecutionDetail, StepDefinition } from "@/lib/types";

import { buildTimeline, formatOffset, place, ticks, type Segment } from "./gantt";

interface Props {
  execution: ExecutionDetail;
  steps: (Pick<StepDefinition, "key" | "name"> & { compensate_with?: string | null })[];
  now: number;
  selectedKey: string | null;
  onSelect: (key: string | null) => void;
}

const KIND_LABEL: Record<Segment["kind"], string> = { backoff: "waiting to retry", queued: "queued", run: "ran" };

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3 } as Intl.DateTimeFormatOptions);
}

function describe(stepKey: string, segment: Segment): string {
  const status = segment.kind === "run" ? segment.status : KIND_LABEL[segment.kind];
  return [
    `${stepKey} · attempt ${segment.attempt}${segment.visit > 1 ? ` (visit ${segment.visit})` : ""} · ${status}`,
    `${clock(segment.start)} → ${segment.open ? "now" : clock(segment.end)}`,
    formatDuration(new Date(segment.start).toISOString(), new Date(segment.end).toISOString()),
  ].join("\n");
}

export function Timeline({ execution, steps, now, selectedKey, onSelect }: Props) {
  const timeline = useMemo(
    () => buildTimeline(steps, execution.task_executions, now, execution),
    [steps, execution, now],
  );
  // Compensations (rows of steps that ran as one) in a lane of their own, below, in the order they ran.
  const undoing = useMemo(() => new Set(execution.task_executions.filter((t) => t.compensates).map((t) => t.step_key)),
    [execution.task_executions]);
  const onlyUndoing = useMemo(() => compensationSteps(steps), [steps]);  // a compensation that never ran: no row
  const normalRows = timeline.rows.filter((row) => !undoing.has(row.stepKey) && !onlyUndoing.has(row.stepKey));
  const compensationRows = timeline.rows.filter((row) => undoing.has(row.stepKey))
    .sort((a, b) => (a.segments[0]?.start ?? 0) - (b.segments[0]?.start ?? 0));
  const span = timeline.end - timeline.start;
  const axis = ticks(span, 8);
  const active = execution.status === "running" || execution.status === "pending";
  const nowAt = active ? place(timeline, now, now, 0).left : null;

  return (
    <section className="card monitor-timeline" aria-label="Timeline" data-testid="timeline">
      <div className="panel-title">
        <h3>Timeline</h3>
        <span className="spacer" />
        <span className="monitor-legend">
          <span><i className="monitor-seg monitor-seg-backoff" /> backoff</span>
          <span><i className="monitor-seg monitor-seg-queued" /> queued</span>
          <span><i className="monitor-seg monitor-seg-run status-running" /> running</span>
          <span className="muted small">total {formatDuration(new Date(timeline.start).toISOString(), new Date(timeline.end).toISOString())}</span>
        </span>
      </div>
      <div className="monitor-gantt">
        <div className="monitor-gantt-row monitor-gantt-axis" aria-hidden="true">
          <div className="monitor-gantt-label" />
          <div className="monitor-gantt-track">
            {axis.map((offset) => (
              <span key={offset} className="monitor-gantt-tick" style={{ left: `${place(timeline, timeline.start + offset, timeline.start + offset, 0).left}%` }}>
                {formatOffset(offset)}
              </span>
            ))}
          </div>
        </div>
        {[...normalRows, ...compensationRows].map((row, index) => (
          <Fragment key={row.stepKey}>
          {index === normalRows.length && (
            <div className="monitor-gantt-row monitor-gantt-lane" data-testid="timeline-compensation">
              <div className="monitor-gantt-label">Compensation</div>
              <div className="monitor-gantt-track" />
            </div>
          )}
          <div className={`monitor-gantt-row${row.stepKey === selectedKey ? " selected" : ""}`} data-testid={`timeline-row-${row.stepKey}`}>
            <button type="button" className="monitor-gantt-label" title={row.stepKey} onClick={() => onSelect(row.stepKey === selectedKey ? null : row.stepKey)}>
              {row.name}
            </button>
            <div className="monitor-gantt-track">
              {axis.map((offset) => (
                <span key={offset} className="monitor-gantt-grid" style={{ left: `${place(timeline, timeline.start + offset, timeline.start + offset, 0).left}%` }} />
              ))}
              {row.segments.map((segment) => {
                const { left, width } = place(timeline, segment.start, segment.end);
                return (
                  <span key={`${segment.taskId}-${segment.kind}`}
                        className={`monitor-seg monitor-seg-${segment.kind} status-${segment.status}${segment.open ? " monitor-seg-open" : ""}`}
                        data-testid="timeline-segment" data-kind={segment.kind} data-status={segment.status}
                        style={{ left: `${left}%`, width: `${width}%` }} title={describe(row.stepKey, segment)}
                        onClick={() => onSelect(row.stepKey)} />
                );
              })}
              {!row.segments.length && <span className="monitor-gantt-empty">not started</span>}
            </div>
          </div>
          </Fragment>
        ))}
        {nowAt !== null && (
          <div className="monitor-gantt-now-layer" aria-hidden="true">
            <div className="monitor-gantt-label" />
            <div className="monitor-gantt-track"><span className="monitor-gantt-now" style={{ left: `${nowAt}%` }} /></div>
          </div>
        )}
      </div>
    </section>
  );
}
