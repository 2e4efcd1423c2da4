/** A replay against its original, step by step: for each step, whether it was mocked and how its output
 * differs (keys changed, added, removed). The comparison is lib/output-diff.ts's; this only shows it.
 * A big run's list scrolls in a box of its own and draws only the steps in view (@tanstack/react-virtual). */
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useMemo, useRef } from "react";
import { Link } from "react-router";

import { StatusBadge } from "@/components/ui";
import { compareRuns, type Change, type ComparedStep } from "@/lib/output-diff";
import type { ExecutionDetail } from "@/lib/types";

const SAID: Record<ComparedStep["comparison"], string> = {
  same: "same output",
  changed: "output differs",
  only_in_original: "not in the replay",
  only_in_replay: "not in the original",
  not_completed: "not compared (did not complete)",
};

const show = (value: unknown) => {
  const text = JSON.stringify(value);
  return text === undefined ? "—" : text.length > 120 ? `${text.slice(0, 120)}…` : text;
};

function ChangeLine({ change }: { change: Change }) {
  const sign = change.kind === "added" ? "+" : change.kind === "removed" ? "−" : "~";
  return (
    <li className={`fp-diff fp-diff-${change.kind}`} data-testid={`change-${change.kind}`}>
      <span className="mono">{sign} {change.path || "(output)"}</span>{" "}
      {change.kind !== "added" && <del className="mono">{show(change.before)}</del>}
      {change.kind === "changed" && " → "}
      {change.kind !== "removed" && <ins className="mono">{show(change.after)}</ins>}
    </li>
  );
}

/** From this many steps the list is virtualised. */
export const COMPARE_VIRTUAL_FROM = 60;

export function ReplayCompare({ original, replay }: { original: ExecutionDetail; replay: ExecutionDetail }) {
  const rows = useMemo(() => compareRuns(original.task_executions, replay.task_executions),
    [original.task_executions, replay.task_executions]);
  const virtual = rows.length >= COMPARE_VIRTUAL_FROM;
  const box = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: virtual ? rows.length : 0,
    getScrollElement: () => box.current,
    estimateSize: () => 41,
    overscan: 8,
    initialRect: { width: 800, height: 480 },
  });
  const items = virtualizer.getVirtualItems();
  const before = items.length ? items[0].start : 0;
  const after = items.length ? virtualizer.getTotalSize() - items[items.length - 1].end : 0;
  return (
    <section className="card fp-replay-compare" aria-label="Compared with the original run">
      <h3>
        Compared with the original run{" "}
        <Link to={`/executions/${original.id}`} className="mono">#{original.id.slice(0, 8)}</Link>{" "}
        <span className="muted small">v{original.workflow_version} → v{replay.workflow_version}</span>
      </h3>
      <div ref={box} className={virtual ? "fp-replay-compare-scroll" : undefined} data-testid="compare-scroll">
        <table className="table">
          <thead><tr><th>Step</th><th>Original</th><th>Replay</th><th>Output</th></tr></thead>
          <tbody>
            {!virtual ? rows.map((row) => <CompareRow key={row.stepKey} row={row} />) : (
              <>
                {before > 0 && <tr aria-hidden="true" style={{ height: before }} />}
                {items.map((item) => <CompareRow key={rows[item.index].stepKey} row={rows[item.index]} index={item.index} measure={virtualizer.measureElement} />)}
                {after > 0 && <tr aria-hidden="true" style={{ height: after }} />}
              </>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

const CompareRow = memo(function CompareRow({ row, index, measure }: { row: ComparedStep; index?: number; measure?: (node: Element | null) => void }) {
  return (
    <tr data-testid={`compare-${row.stepKey}`} data-index={index} ref={measure}>
      <td className="mono">{row.stepKey}</td>
      <td>{row.original ? <StatusBadge status={row.original.status} /> : <span className="muted">—</span>}</td>
      <td>
        {row.replay ? <StatusBadge status={row.replay.status} /> : <span className="muted">—</span>}
        {row.mocked && <span className="badge fp-mocked" title="Answered from a mock or the original's output: not run">mocked</span>}
      </td>
      <td>
        <span className={`fp-compare-${row.comparison}`}>{SAID[row.comparison]}</span>
        {row.changes.length > 0 && <ul className="fp-diff-list">{row.changes.map((change) => <ChangeLine key={`${change.kind}:${change.path}`} change={change} />)}</ul>}
      </td>
    </tr>
  );
});
