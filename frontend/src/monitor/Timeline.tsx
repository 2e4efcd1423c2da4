/** The run as a Gantt chart: one row per step, a bar per phase of each attempt (backoff before a retry,
 * queued, running) coloured by status, on a time axis from the start of the run; it grows while the run is live.
 * A long run's rows scroll in a box of their own, and only those in view are drawn (@tanstack/react-virtual). */
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useMemo, useRef, type CSSProperties } from "react";

import { formatDuration } from "@/components/ui";
import { compensationSteps } from "@/lib/graph";
import type { ExecutionDetail, StepDefinition } from "@/lib/types";

import { buildTimeline, formatOffset, place, ticks, type Segment, type Timeline as TimelineData } from "./gantt";

/** From this many steps the rows are virtualised (fewer are drawn at once, cheaper than measuring). */
export const VIRTUAL_FROM = 60;
/** A row's height (px), as .monitor-gantt-row sets it. */
const ROW_HEIGHT = 28;

interface Props {
  execution: ExecutionDetail;
  steps: (Pick<StepDefinition, "key" | "name"> & { compensate_with?: string | null })[];
  now: number;
  selectedKey: string | null;
  onSelect: (key: string | null) => void;
}

const KIND_LABEL: Record<Segment["kind"], string> = { backoff: "waiting to retry", queued: "queued", run: "ran" };

// One formatter (toLocaleTimeString builds one per call: a third of a live run's rendering of the timeline).
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3 } as Intl.DateTimeFormatOptions);

function clock(ms: number): string {
  return CLOCK.format(new Date(ms));
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
  const rows: Item[] = compensationRows.length ? [...normalRows, LANE, ...compensationRows] : normalRows;
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
        {rows.length < VIRTUAL_FROM
          ? rows.map((row) => (row === LANE ? <Lane key="compensation-lane" />
            : <Row key={row.stepKey} row={row} timeline={timeline} axis={axis} selected={row.stepKey === selectedKey} onSelect={onSelect} />))
          : <VirtualRows rows={rows} timeline={timeline} axis={axis} selectedKey={selectedKey} onSelect={onSelect} nowAt={nowAt} />}
        {nowAt !== null && rows.length < VIRTUAL_FROM && (
          <div className="monitor-gantt-now-layer" aria-hidden="true">
            <div className="monitor-gantt-label" />
            <div className="monitor-gantt-track"><span className="monitor-gantt-now" style={{ left: `${nowAt}%` }} /></div>
          </div>
        )}
      </div>
    </section>
  );
}

type Rows = TimelineData["rows"];
/** Where the compensations' lane starts, among the rows. */
const LANE = "compensation-lane" as const;
type Item = Rows[number] | typeof LANE;

function Lane({ style }: { style?: CSSProperties }) {
  return (
    <div className="monitor-gantt-row monitor-gantt-lane" data-testid="timeline-compensation" style={style}>
      <div className="monitor-gantt-label">Compensation</div>
      <div className="monitor-gantt-track" />
    </div>
  );
}

interface RowProps {
  row: Rows[number];
  timeline: TimelineData;
  axis: number[];
  selected: boolean;
  onSelect: (key: string | null) => void;
  style?: CSSProperties;
}

const Row = memo(function Row({ row, timeline, axis, selected, onSelect, style }: RowProps) {
  return (
    <div className={`monitor-gantt-row${selected ? " selected" : ""}`} data-testid={`timeline-row-${row.stepKey}`} style={style}>
      <button type="button" className="monitor-gantt-label" title={row.stepKey} onClick={() => onSelect(selected ? null : row.stepKey)}>
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
  );
});

/** The rows of a long run in a scrolling box: only those in view (and a few around) are in the page. */
function VirtualRows({ rows, timeline, axis, selectedKey, onSelect, nowAt }: {
  rows: Item[]; timeline: TimelineData; axis: number[]; selectedKey: string | null; onSelect: (key: string | null) => void;
  nowAt: number | null;
}) {
  const box = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => box.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
    initialRect: { width: 800, height: 14 * ROW_HEIGHT },
  });
  return (
    <div className="monitor-gantt-scroll" ref={box} data-testid="timeline-scroll">
      <div className="monitor-gantt-rows" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((item) => {
          const row = rows[item.index];
          const style: CSSProperties = { position: "absolute", top: 0, left: 0, right: 0, transform: `translateY(${item.start}px)` };
          return row === LANE ? <Lane key="compensation-lane" style={style} />
            : <Row key={row.stepKey} row={row} timeline={timeline} axis={axis} selected={row.stepKey === selectedKey} onSelect={onSelect}
                   style={style} />;
        })}
        {nowAt !== null && (
          <div className="monitor-gantt-now-layer" aria-hidden="true">
            <div className="monitor-gantt-label" />
            <div className="monitor-gantt-track"><span className="monitor-gantt-now" style={{ left: `${nowAt}%` }} /></div>
          </div>
        )}
      </div>
    </div>
  );
}
