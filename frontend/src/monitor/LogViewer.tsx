/** The run's log: a level filter (that level and above), an optional step filter (set by clicking a
 * step), following new lines while scrolled to the bottom, with a "jump to latest" otherwise. A long
 * log draws only the lines in view (@tanstack/react-virtual): a 500-step run's 1,500 lines, laid out
 * again on every new line to follow the bottom, took a second of a live run's main thread. */
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useCallback, useLayoutEffect, useMemo, useRef, useState } from "react";

import type { ExecutionLog, LogLevel } from "@/lib/types";

import { filterLogs, LOG_LEVELS } from "./logs";

/** From this many lines only those in view are drawn. */
export const LOG_VIRTUAL_FROM = 200;
/** A line's height before it is measured (px). */
const LINE_HEIGHT = 22;

interface Props {
  lines: ExecutionLog[];
  level: LogLevel;
  onLevel: (level: LogLevel) => void;
  stepKey: string | null;
  onStepKey: (key: string | null) => void;
  loading?: boolean;
  error?: string | null;
  /** Lines the server holds at this level beyond those shown (only the newest are fetched). */
  older?: number;
}

/** Memoised: the run page re-renders every second while a run is live; the log only when its lines do. */
export const LogViewer = memo(function LogViewer({ lines, level, onLevel, stepKey, onStepKey, loading, error, older = 0 }: Props) {
  const shown = useMemo(() => filterLogs(lines, { level, stepKey }), [lines, level, stepKey]);
  const scroller = useRef<HTMLDivElement>(null);
  const [following, setFollowing] = useState(true);
  const [unseen, setUnseen] = useState(0);
  const seenCount = useRef(shown.length);
  const virtual = shown.length >= LOG_VIRTUAL_FROM;
  const virtualizer = useVirtualizer({
    count: virtual ? shown.length : 0,
    getScrollElement: () => scroller.current,
    estimateSize: () => LINE_HEIGHT,
    overscan: 12,
    getItemKey: useCallback((index: number) => shown[index]?.id ?? index, [shown]),
    initialRect: { width: 800, height: 340 },
  });

  // Keep to the bottom while following; otherwise count what arrived below.
  useLayoutEffect(() => {
    const box = scroller.current;
    const added = shown.length - seenCount.current;
    seenCount.current = shown.length;
    if (!box) return;
    if (following) box.scrollTop = box.scrollHeight;
    else if (added > 0) setUnseen((count) => count + added);
  }, [shown.length, following]);

  const onScroll = () => {
    const box = scroller.current;
    if (!box) return;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
    setFollowing(atBottom);
    if (atBottom) setUnseen(0);
  };
  const jump = () => {
    setFollowing(true);
    setUnseen(0);
    if (scroller.current) scroller.current.scrollTop = scroller.current.scrollHeight;
  };

  return (
    <section className="card monitor-logs" aria-label="Log">
      <div className="panel-title monitor-logs-head">
        <h3>Log</h3>
        <div className="monitor-segmented" role="radiogroup" aria-label="Lowest level shown">
          {LOG_LEVELS.map((candidate) => (
            <button key={candidate} type="button" role="radio" aria-checked={candidate === level}
                    className={`monitor-level-${candidate}${candidate === level ? " on" : ""}`} onClick={() => onLevel(candidate)}>
              {candidate}
            </button>
          ))}
        </div>
        {stepKey && (
          <span className="monitor-filter-pill">
            step <span className="mono">{stepKey}</span>
            <button type="button" aria-label="Show every step" title="Show every step" onClick={() => onStepKey(null)}>✕</button>
          </span>
        )}
        <span className="spacer" />
        <span className="muted small" aria-live="polite">{shown.length} line{shown.length === 1 ? "" : "s"}{older ? ` (newest; ${older} older not shown)` : ""}</span>
        <span className={`monitor-follow${following ? " on" : ""}`} title="New lines scroll into view while you are at the bottom">
          {following ? "Following" : "Paused"}
        </span>
      </div>
      <div className="monitor-logs-body" ref={scroller} onScroll={onScroll} role="log" aria-busy={loading}>
        {error ? <p className="monitor-logs-note monitor-error-text">{error}</p>
          : loading && !shown.length ? <p className="monitor-logs-note muted">Loading log…</p>
          : !shown.length ? <p className="monitor-logs-note muted">No log lines{stepKey ? " for this step" : ""} at {level} or above yet.</p>
          : !virtual ? shown.map((line) => <LogLine key={line.id} line={line} onStep={onStepKey} />)
          : (
            <div className="monitor-logs-rows" style={{ height: virtualizer.getTotalSize() }}>
              {virtualizer.getVirtualItems().map((item) => (
                <div key={item.key} data-index={item.index} ref={virtualizer.measureElement} className="monitor-logs-row"
                     style={{ transform: `translateY(${item.start}px)` }}>
                  <LogLine line={shown[item.index]} onStep={onStepKey} />
                </div>
              ))}
            </div>
          )}
      </div>
      {!following && (
        <button type="button" className="btn btn-sm monitor-jump" onClick={jump}>
          ↓ Jump to latest{unseen ? ` (${unseen} new)` : ""}
        </button>
      )}
    </section>
  );
});

function clock(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

export const LogLine = memo(function LogLine({ line, onStep, compact }: { line: ExecutionLog; onStep?: (key: string) => void; compact?: boolean }) {
  const [open, setOpen] = useState(false);
  const hasDetails = line.details && Object.keys(line.details).length > 0;
  return (
    <div className={`monitor-log-line monitor-log-${line.level}`} data-level={line.level} data-testid="log-line">
      <time className="monitor-log-time" dateTime={line.timestamp} title={new Date(line.timestamp).toLocaleString()}>{clock(line.timestamp)}</time>
      <span className="monitor-log-level">{line.level}</span>
      {!compact && (line.step_key
        ? <button type="button" className="monitor-log-step mono" onClick={() => onStep?.(line.step_key)} title="Show only this step">{line.step_key}</button>
        : <span className="monitor-log-step muted">—</span>)}
      <span className="monitor-log-message">
        <span className="monitor-log-event mono">{line.event}</span> {line.message}
        {hasDetails && (
          <button type="button" className="monitor-log-more" onClick={() => setOpen(!open)} aria-expanded={open}>
            {open ? "less" : "details"}
          </button>
        )}
        {open && <pre className="monitor-log-details">{JSON.stringify(line.details, null, 2)}</pre>}
      </span>
    </div>
  );
});
