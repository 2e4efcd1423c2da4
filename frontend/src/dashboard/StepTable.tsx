/** Per step of one workflow: attempts, failures, failure rate, retries, p50/p95/max. */
import { Link } from "react-router";

import { RateBar } from "./BarChart";
import { formatCount, formatMs, formatRate } from "./format";
import type { StepFigures } from "./types";
import { executionsLink } from "./window-params";

export function StepTable({ rows, workflowId }: { rows: StepFigures[]; workflowId: string }) {
  if (!rows.length) return <p className="muted dash-note">No step ended in this window.</p>;
  return (
    <table className="table dash-table" aria-label="Steps">
      <thead>
        <tr>
          <th>Step</th>
          <th className="num">Attempts</th>
          <th className="num">Failures</th>
          <th>Failure rate</th>
          <th className="num">Retries</th>
          <th className="num">p50</th>
          <th className="num">p95</th>
          <th className="num">Max</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.step_key} data-testid={`step-row-${row.step_key}`}>
            <td className="mono">{row.step_key}</td>
            <td className="num">{formatCount(row.runs)}</td>
            <td className="num">{formatCount(row.failures)}</td>
            <td><span className="dash-rate-cell"><RateBar rate={row.failure_rate} /><span>{formatRate(row.failure_rate)}</span></span></td>
            <td className="num">{formatCount(row.retries)}</td>
            <td className="num">{formatMs(row.p50_ms)}</td>
            <td className="num">{formatMs(row.p95_ms)}</td>
            <td className="num">{formatMs(row.max_ms)}</td>
            <td className="dash-actions">
              {row.failures > 0 && <Link to={executionsLink(workflowId, "failed")}>Failed runs</Link>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
