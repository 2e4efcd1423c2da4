/** What runs now, per workflow: runs pending and running (waiting ones among them), steps by status. */
import { Link } from "react-router";

import { EmptyState } from "@/components/ui";

import { formatCount } from "./format";
import type { Running } from "./types";
import { executionsLink } from "./window-params";

export function RunningNow({ data }: { data: Running }) {
  if (!data.workflows.length) return <EmptyState title="Nothing running">Runs in flight appear here.</EmptyState>;
  return (
    <ul className="dash-running" aria-label="Running now">
      {data.workflows.map((row) => (
        <li key={row.workflow_id}>
          <Link to={executionsLink(row.workflow_id, "running")} className="dash-name">{row.workflow_name}</Link>
          <span className="dash-running-counts">
            <span className="badge status-running">{formatCount(row.running)} running</span>
            {row.waiting > 0 && <span className="badge status-waiting">{formatCount(row.waiting)} waiting</span>}
            {row.pending > 0 && <span className="badge status-pending">{formatCount(row.pending)} pending</span>}
          </span>
          <span className="muted small">
            steps: {row.steps_running} running · {row.steps_queued} queued · {row.steps_retrying} retrying · {row.steps_waiting} waiting
          </span>
        </li>
      ))}
    </ul>
  );
}
