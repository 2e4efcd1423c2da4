/** A replay against its original, step by step: for each step, whether it was mocked and how its output
 * differs (keys changed, added, removed). The comparison is lib/output-diff.ts's; this only shows it. */
import { useMemo } from "react";
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

export function ReplayCompare({ original, replay }: { original: ExecutionDetail; replay: ExecutionDetail }) {
  const rows = useMemo(() => compareRuns(original.task_executions, replay.task_executions),
    [original.task_executions, replay.task_executions]);
  return (
    <section className="card fp-replay-compare" aria-label="Compared with the original run">
      <h3>
        Compared with the original run{" "}
        <Link to={`/executions/${original.id}`} className="mono">#{original.id.slice(0, 8)}</Link>{" "}
        <span className="muted small">v{original.workflow_version} → v{replay.workflow_version}</span>
      </h3>
      <table className="table">
        <thead><tr><th>Step</th><th>Original</th><th>Replay</th><th>Output</th></tr></thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.stepKey} data-testid={`compare-${row.stepKey}`}>
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
          ))}
        </tbody>
      </table>
    </section>
  );
}
