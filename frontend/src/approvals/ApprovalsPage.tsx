/** /approvals: every step waiting for an approval or a signal that the user may answer, with what
 * helps to decide (the message, the run's input and context), and Approve / Reject with a comment. */
import { Hourglass } from "lucide-react";
import { useState } from "react";
import { Link } from "react-router";

import { EmptyState, ErrorState, formatTime, Spinner } from "@/components/ui";
import { formatAgo } from "@/dashboard/format";
import { JsonBlock } from "@/monitor/JsonBlock";

import { DecisionForm } from "./DecisionForm";
import { APPROVALS_PAGE, type Approval, useApprovals } from "./queries";

export function ApprovalsPage() {
  const [offset, setOffset] = useState(0);
  const approvals = useApprovals(offset);
  const count = approvals.data?.count ?? 0;
  return (
    <div className="page-body approvals-page">
      <div className="page-header">
        <h1>Approvals</h1>
        <span className="muted small">Steps of your runs waiting for a decision or a signal.</span>
        <span className="spacer" />
        {count > 0 && <span className="muted small" data-testid="approvals-count">{count} waiting</span>}
      </div>
      {approvals.isPending ? (
        <Spinner label="Loading the approvals…" />
      ) : approvals.isError ? (
        <ErrorState error={approvals.error} onRetry={() => approvals.refetch()} />
      ) : approvals.data.results.length === 0 ? (
        <div className="card">
          <EmptyState title="Nothing is waiting for you">
            An <span className="mono">approval</span> or <span className="mono">wait_for_signal</span> step of your runs
            appears here while it waits.
          </EmptyState>
        </div>
      ) : (
        <>
          <ul className="approval-list" aria-label="Waiting approvals">
            {approvals.data.results.map((item) => <ApprovalCard key={item.task_execution_id} item={item} />)}
          </ul>
          {count > APPROVALS_PAGE && (
            <div className="btn-group approvals-pager">
              <button type="button" className="btn btn-sm" disabled={offset === 0}
                      onClick={() => setOffset(Math.max(0, offset - APPROVALS_PAGE))}>Newer</button>
              <span className="muted small">{offset + 1}–{Math.min(offset + APPROVALS_PAGE, count)} of {count}</span>
              <button type="button" className="btn btn-sm" disabled={offset + APPROVALS_PAGE >= count}
                      onClick={() => setOffset(offset + APPROVALS_PAGE)}>Older</button>
            </div>
          )}
        </>
      )}
    </div>
  );
}

function ApprovalCard({ item }: { item: Approval }) {
  const kind = item.kind === "approval" ? "approval" : "signal";
  return (
    <li className="card approval-card" data-testid={`approval-${item.execution_id}-${item.step_key}`}>
      <div className="approval-card-head">
        <Hourglass size={18} className="approval-icon" aria-hidden="true" />
        <div>
          <div className="approval-title">
            <strong>{item.workflow_name}</strong> · <span className="mono">{item.step_key}</span>
            <span className={`approval-kind approval-kind-${kind}`}>
              {kind === "approval" ? "awaiting approval" : `awaiting signal “${item.signal_name}”`}
            </span>
          </div>
          <div className="muted small">
            Waiting since {item.waiting_since ? `${formatTime(item.waiting_since)} (${formatAgo(item.waiting_since)})` : "—"}
            {item.timeout_at && <> · times out {formatTime(item.timeout_at)}</>}
            {item.triggered_by_user && <> · started by {item.triggered_by_user}</>}
            {" · "}<Link to={`/executions/${item.execution_id}?step=${encodeURIComponent(item.step_key)}`}>Open the run</Link>
          </div>
        </div>
      </div>
      {item.message && <p className="approval-message">{item.message}</p>}
      <div className="approval-data">
        <JsonBlock label="Input" value={item.input_data} empty="No input (or too large to show here)." />
        <JsonBlock label="Context" value={item.context} empty="No context yet." />
      </div>
      <DecisionForm taskExecutionId={item.task_execution_id} executionId={item.execution_id} stepKey={item.step_key} kind={kind} />
    </li>
  );
}
