/** Per workflow: runs, failures, failure rate (with a bar), retries, p50/p95/max. A click focuses the
 * dashboard on that workflow (its steps appear below); "Failed runs" opens them in the executions list. */
import { Link } from "react-router";

import { RateBar } from "./BarChart";
import { formatCount, formatMs, formatRate } from "./format";
import type { Figures } from "./types";
import { executionsLink } from "./window-params";

interface Props {
  rows: Figures[];
  selected: string;
  onSelect: (workflowId: string) => void;
}

export function WorkflowTable({ rows, selected, onSelect }: Props) {
  return (
    <table className="table dash-table" aria-label="Workflows">
      <thead>
        <tr>
          <th>Workflow</th>
          <th className="num">Runs</th>
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
        {rows.map((row) => {
          const on = row.workflow_id === selected;
          return (
            <tr key={row.workflow_id} className={`clickable${on ? " dash-row-on" : ""}`} aria-selected={on}
                data-testid={`wf-row-${row.workflow_id}`} tabIndex={0}
                onClick={() => onSelect(on ? "" : row.workflow_id)}
                onKeyDown={(event) => event.key === "Enter" && onSelect(on ? "" : row.workflow_id)}>
              <td><span className="dash-name">{row.workflow_name}</span></td>
              <td className="num" data-col="runs">{formatCount(row.runs)}</td>
              <td className="num" data-col="failures">{formatCount(row.failures)}</td>
              <td data-col="failure-rate">
                <span className="dash-rate-cell"><RateBar rate={row.failure_rate} /><span>{formatRate(row.failure_rate)}</span></span>
              </td>
              <td className="num">{formatCount(row.retries)}</td>
              <td className="num">{formatMs(row.p50_ms)}</td>
              <td className="num">{formatMs(row.p95_ms)}</td>
              <td className="num">{formatMs(row.max_ms)}</td>
              <td className="dash-actions" onClick={(event) => event.stopPropagation()}>
                {row.failures > 0 && <Link to={executionsLink(row.workflow_id, "failed")}>Failed runs</Link>}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
