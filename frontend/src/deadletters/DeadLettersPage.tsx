/** /dead-letters: the runs that failed for good, as queues per workflow and error group (the failed
 * step and the error with its numbers and ids masked), with Retry all (each run resumes at its failed
 * step) and Dismiss (the runs are cancelled: given up), and links to the runs. */
import { Inbox } from "lucide-react";
import { useState } from "react";
import { Link } from "react-router";

import { EmptyState, ErrorState, Spinner } from "@/components/ui";
import { formatAgo, formatCount } from "@/dashboard/format";
import { executionsLink } from "@/dashboard/window-params";
import { ApiError } from "@/lib/api";
import { toast } from "@/lib/toast";
import { ConfirmDialog } from "@/monitor/ConfirmDialog";

import { type DeadLetterGroup, type QueueAction, useDeadLetters, useQueueAction } from "./queries";

const plural = (n: number, word: string) => `${formatCount(n)} ${word}${n === 1 ? "" : "s"}`;
const message = (error: unknown) => (error instanceof ApiError || error instanceof Error ? error.message : String(error));

export function DeadLettersPage({ now }: { now?: number }) {
  const queues = useDeadLetters();
  const act = useQueueAction();
  const [pending, setPending] = useState<{ group: DeadLetterGroup; action: QueueAction } | null>(null);

  const confirm = () => {
    if (!pending) return;
    const { group, action } = pending;
    act.mutate({ group: group.id, action }, {
      onSuccess: (result) => {
        const done = action === "retry" ? "Retried" : "Dismissed";
        const left = result.remaining ? `; ${plural(result.remaining, "run")} left in the queue` : "";
        toast(`${done} ${plural(result.count, "run")}${left}.`);
      },
      onError: (error) => toast(`${action === "retry" ? "Retry" : "Dismiss"} failed: ${message(error)}`, "error"),
      onSettled: () => setPending(null),
    });
  };

  const groups = queues.data?.groups ?? [];
  const byWorkflow = new Map<string, DeadLetterGroup[]>();
  for (const group of groups) byWorkflow.set(group.workflow_id, [...(byWorkflow.get(group.workflow_id) ?? []), group]);

  return (
    <div className="page-body dead-letters-page">
      <div className="page-header">
        <h1>Dead letters</h1>
        <span className="muted small">Runs that failed for good, by workflow and error.</span>
      </div>
      {queues.isPending ? (
        <Spinner label="Loading the dead letters…" />
      ) : queues.isError ? (
        <ErrorState error={queues.error} onRetry={() => queues.refetch()} />
      ) : groups.length === 0 ? (
        <div className="card">
          <EmptyState title="No dead letters">
            A run that fails for good (after its retries) appears here, in the queue of its workflow and error.
          </EmptyState>
        </div>
      ) : (
        [...byWorkflow.entries()].map(([workflowId, rows]) => (
          <section key={workflowId} className="card dead-letter-workflow" aria-label={rows[0].workflow_name}>
            <h2 className="dead-letter-title">
              <Inbox size={16} aria-hidden="true" />{" "}
              <Link to={`/workflows/${workflowId}`}>{rows[0].workflow_name}</Link>
              <span className="muted small"> · <Link to={executionsLink(workflowId, "failed")}>all failed runs</Link></span>
            </h2>
            <table className="table dash-table" aria-label={`Dead letters of ${rows[0].workflow_name}`}>
              <thead>
                <tr>
                  <th>Step</th>
                  <th>Error</th>
                  <th className="num">Runs</th>
                  <th>First seen</th>
                  <th>Last seen</th>
                  <th>Latest runs</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {rows.map((group) => (
                  <tr key={group.id} data-testid={`dead-letter-${group.id}`}>
                    <td className="mono">{group.step_key}</td>
                    <td>
                      <span className="dash-error-message" title={group.sample_message}>{group.pattern || group.sample_message}</span>
                    </td>
                    <td className="num dash-strong" data-col="count">{formatCount(group.count)}</td>
                    <td title={group.first_seen}>{formatAgo(group.first_seen, now)}</td>
                    <td title={group.last_seen}>{formatAgo(group.last_seen, now)}</td>
                    <td>
                      {group.sample_execution_ids.map((id) => (
                        <Link key={id} className="mono small dead-letter-run" to={`/executions/${id}?step=${encodeURIComponent(group.step_key)}`}>
                          {id.slice(0, 8)}
                        </Link>
                      ))}
                    </td>
                    <td className="dash-actions btn-group">
                      <button type="button" className="btn btn-sm" disabled={act.isPending}
                              aria-label={`Retry all: ${group.step_key} ${group.pattern}`}
                              onClick={() => setPending({ group, action: "retry" })}>Retry all</button>
                      <button type="button" className="btn btn-sm" disabled={act.isPending}
                              aria-label={`Dismiss: ${group.step_key} ${group.pattern}`}
                              onClick={() => setPending({ group, action: "dismiss" })}>Dismiss</button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ))
      )}
      {pending && (
        <ConfirmDialog
          title={pending.action === "retry" ? `Retry ${plural(pending.group.count, "run")}?` : `Dismiss ${plural(pending.group.count, "run")}?`}
          confirmLabel={pending.action === "retry" ? "Retry all" : "Dismiss"}
          danger={pending.action === "dismiss"}
          busy={act.isPending}
          onConfirm={confirm} onClose={() => setPending(null)}>
          {pending.action === "retry" ? (
            <p>The runs of this queue resume at <span className="mono">{pending.group.step_key}</span>; the steps that completed keep their results.</p>
          ) : (
            <p>The runs of this queue are cancelled: given up, they leave this queue and every bulk retry.</p>
          )}
        </ConfirmDialog>
      )}
    </div>
  );
}
