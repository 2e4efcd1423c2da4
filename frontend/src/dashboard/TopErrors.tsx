/** The top errors, grouped by signature: how often, in how many runs, at which steps, since when, and
 * a sample message; "Retry these" retries the failed runs of one group (after a dry run says how many). */
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";

import { EmptyState } from "@/components/ui";
import { ApiError } from "@/lib/api";
import { toast } from "@/lib/toast";
import { ConfirmDialog } from "@/monitor/ConfirmDialog";
import { executionKeys } from "@/monitor/queries";

import { formatAgo, formatCount } from "./format";
import { metricsKeys, retryErrorGroup, type ErrorRetrySelection } from "./queries";
import type { ErrorGroup, Errors } from "./types";
import { executionsLink } from "./window-params";

interface Props {
  data: Errors;
  /** The workflow filter of the dashboard ("" for all): a retry stays within it. */
  workflow: string;
  now?: number;
}

type Retry =
  | { phase: "checking"; group: ErrorGroup }
  | { phase: "confirm"; group: ErrorGroup; selection: ErrorRetrySelection; count: number }
  | { phase: "retrying"; group: ErrorGroup; selection: ErrorRetrySelection; count: number };

const message = (error: unknown) => (error instanceof ApiError || error instanceof Error ? error.message : String(error));
const plural = (n: number, word: string) => `${formatCount(n)} ${word}${n === 1 ? "" : "s"}`;

export function TopErrors({ data, workflow, now = Date.now() }: Props) {
  const client = useQueryClient();
  const [retry, setRetry] = useState<Retry | null>(null);

  const check = async (group: ErrorGroup) => {
    const selection: ErrorRetrySelection = { signature: group.signature, workflow: workflow || undefined, since: data.since };
    setRetry({ phase: "checking", group });
    try {
      const preview = await retryErrorGroup(selection, true);
      setRetry({ phase: "confirm", group, selection, count: preview.count });
    } catch (error) {
      setRetry(null);
      toast(`Could not check the runs to retry: ${message(error)}`, "error");
    }
  };

  const confirm = async () => {
    if (retry?.phase !== "confirm") return;
    setRetry({ ...retry, phase: "retrying" });
    try {
      const result = await retryErrorGroup(retry.selection, false);
      toast(`Retried ${plural(result.count, "run")} with this error.`);
      setRetry(null);
    } catch (error) {
      toast(`Retry failed: ${message(error)}`, "error");
      setRetry(null);
    } finally {
      void client.invalidateQueries({ queryKey: metricsKeys.all });
      void client.invalidateQueries({ queryKey: executionKeys.lists() });
    }
  };

  if (!data.groups.length) {
    return <EmptyState title="No errors in this window">Failed attempts appear here, grouped by their message.</EmptyState>;
  }
  return (
    <>
      <table className="table dash-table dash-errors" aria-label="Top errors">
        <thead>
          <tr>
            <th>Error</th>
            <th className="num">Count</th>
            <th className="num">Runs</th>
            <th>Steps hit</th>
            <th>First seen</th>
            <th>Last seen</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data.groups.map((group) => (
            <tr key={group.signature} data-testid={`error-${group.signature}`}>
              <td>
                <div className="dash-error-cell">
                  <span className="dash-error-message" title={group.sample_message}>{group.sample_message || group.pattern}</span>
                  <span className="muted small mono" title="Signature: the message with its numbers, ids and values stripped">
                    {group.signature}
                  </span>
                </div>
              </td>
              <td className="num dash-strong" data-col="count">{formatCount(group.count)}</td>
              <td className="num" data-col="runs">{formatCount(group.executions)}</td>
              <td>
                <ul className="dash-steps-hit">
                  {group.steps.map((step) => (
                    <li key={`${step.workflow_id}:${step.step_key}`}>
                      <Link to={executionsLink(step.workflow_id, "failed")} title="Failed runs of this workflow">
                        {step.workflow_name} · <span className="mono">{step.step_key}</span>
                      </Link>
                      <span className="muted"> ×{formatCount(step.count)}</span>
                    </li>
                  ))}
                </ul>
              </td>
              <td title={group.first_seen}>{formatAgo(group.first_seen, now)}</td>
              <td title={group.last_seen}>{formatAgo(group.last_seen, now)}</td>
              <td className="dash-actions">
                <button type="button" className="btn btn-sm" disabled={retry !== null} onClick={() => void check(group)}>
                  {retry?.phase === "checking" && retry.group.signature === group.signature ? "Checking…" : "Retry these"}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {retry && retry.phase !== "checking" && (
        <ConfirmDialog
          title={retry.count ? `Retry ${plural(retry.count, "failed run")}?` : "Nothing to retry"}
          confirmLabel={retry.count ? `Retry ${plural(retry.count, "run")}` : "Close"}
          busy={retry.phase === "retrying"}
          onConfirm={() => (retry.count ? void confirm() : setRetry(null))} onClose={() => setRetry(null)}>
          {retry.count ? (
            <p>
              {plural(retry.count, "run")} whose current failure is <q className="dash-error-message">{retry.group.sample_message}</q>{" "}
              will resume at their failed steps; the steps that completed keep their results.
            </p>
          ) : (
            <p>No failed run has this error as its current failure any more (they may have been retried already).</p>
          )}
        </ConfirmDialog>
      )}
    </>
  );
}
