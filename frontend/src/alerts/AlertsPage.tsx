/** /alerts: the alert rules with their state, what they watch, when they were last evaluated and
 * notified; create, edit, delete, send a test, and each rule's incident history. */
import { useQueryClient } from "@tanstack/react-query";
import { Fragment, useState } from "react";

import { EmptyState, ErrorState, formatTime, Spinner, StatusBadge } from "@/components/ui";
import { formatAgo } from "@/dashboard/format";
import { ApiError } from "@/lib/api";
import { toast } from "@/lib/toast";
import { ConfirmDialog } from "@/monitor/ConfirmDialog";
import { useWorkflowOptions } from "@/monitor/queries";

import { alertKeys, deleteAlertRule, testAlertRule, useAlertRules } from "./queries";
import { describeCondition, formatMeasure } from "./rule-form";
import { RuleEvents } from "./RuleEvents";
import { RuleFormDialog } from "./RuleFormDialog";
import type { AlertRule } from "./types";

const message = (error: unknown) => (error instanceof ApiError || error instanceof Error ? error.message : String(error));

export function AlertsPage() {
  const rules = useAlertRules();
  const workflows = useWorkflowOptions();
  const client = useQueryClient();
  const [editing, setEditing] = useState<AlertRule | "new" | null>(null);
  const [deleting, setDeleting] = useState<AlertRule | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);

  const names = new Map((workflows.data ?? []).map((w) => [w.id, w.name]));
  const refresh = () => void client.invalidateQueries({ queryKey: alertKeys.all });

  const sendTest = async (rule: AlertRule) => {
    try {
      const result = await testAlertRule(rule.id);
      if (!result.deliveries.length) toast(`“${rule.name}” has no channels to test.`, "error");
      else if (result.ok) toast(`Test sent to ${result.deliveries.map((d) => d.target).join("; ")}.`);
      else toast(`Test: ${result.deliveries.filter((d) => !d.ok).map((d) => `${d.type} ${d.target}: ${d.error}`).join("; ")}`, "error");
    } catch (error) {
      toast(`Test failed: ${message(error)}`, "error");
    }
  };

  const remove = async () => {
    if (!deleting) return;
    setBusy(true);
    try {
      await deleteAlertRule(deleting.id);
      toast(`Deleted “${deleting.name}”.`);
      setDeleting(null);
    } catch (error) {
      toast(`Delete failed: ${message(error)}`, "error");
    } finally {
      setBusy(false);
      refresh();
    }
  };

  return (
    <div className="page-body alert-page">
      <div className="page-header">
        <h1>Alerts</h1>
        <span className="muted small">Rules are evaluated every minute over your runs.</span>
        <span className="spacer" />
        <button type="button" className="btn btn-primary" onClick={() => setEditing("new")}>New rule</button>
      </div>
      <div className="card">
        {rules.isPending ? (
          <Spinner label="Loading the rules…" />
        ) : rules.isError ? (
          <ErrorState error={rules.error} onRetry={() => rules.refetch()} />
        ) : rules.data.length === 0 ? (
          <EmptyState title="No alert rules yet" action={<button type="button" className="btn" onClick={() => setEditing("new")}>Create one</button>}>
            A rule tells you (email, Slack, a webhook) when a failure rate or a duration goes above a threshold, or
            when nothing has succeeded for a while.
          </EmptyState>
        ) : (
          <table className="table alert-table" aria-label="Alert rules">
            <thead>
              <tr>
                <th>State</th><th>Rule</th><th>Target</th><th>Condition</th><th>Last value</th>
                <th>Evaluated</th><th>Notified</th><th />
              </tr>
            </thead>
            <tbody>
              {rules.data.map((rule) => (
                <Fragment key={rule.id}>
                  <tr data-testid={`rule-${rule.id}`} className={rule.enabled ? undefined : "alert-disabled"}>
                    <td><StatusBadge status={rule.enabled ? rule.state : "disabled"} /></td>
                    <td>
                      <span className="dash-name">{rule.name}</span>
                      <div className="muted small">{rule.kind} · {rule.channels.length} channel{rule.channels.length === 1 ? "" : "s"}</div>
                    </td>
                    <td>
                      {rule.workflow_id ? names.get(rule.workflow_id) ?? rule.workflow_id.slice(0, 8) : "All workflows"}
                      {rule.step_key && <span className="mono"> · {rule.step_key}</span>}
                    </td>
                    <td>{describeCondition(rule)}</td>
                    <td>
                      {formatMeasure(rule.kind, rule.last_value)}
                      {rule.last_runs !== null && <div className="muted small">{rule.last_runs} runs</div>}
                    </td>
                    <td title={formatTime(rule.last_evaluated_at)}>{formatAgo(rule.last_evaluated_at)}</td>
                    <td title={formatTime(rule.last_notified_at)}>{formatAgo(rule.last_notified_at)}</td>
                    <td>
                      <div className="fp-row-actions">
                        <button type="button" className="btn btn-sm" onClick={() => setOpen(open === rule.id ? null : rule.id)} aria-expanded={open === rule.id}>
                          History
                        </button>
                        <button type="button" className="btn btn-sm" onClick={() => void sendTest(rule)}>Send test</button>
                        <button type="button" className="btn btn-sm" onClick={() => setEditing(rule)}>Edit</button>
                        <button type="button" className="btn btn-sm btn-danger" onClick={() => setDeleting(rule)}>Delete</button>
                      </div>
                    </td>
                  </tr>
                  {open === rule.id && (
                    <tr className="alert-history-row">
                      <td colSpan={8}><RuleEvents ruleId={rule.id} kind={rule.kind} /></td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        )}
      </div>

      {editing && (
        <RuleFormDialog rule={editing === "new" ? undefined : editing} workflows={workflows.data ?? []}
                        onClose={() => setEditing(null)}
                        onSaved={(rule) => {
                          toast(editing === "new" ? `Created “${rule.name}”.` : `Saved “${rule.name}”.`);
                          setEditing(null);
                          refresh();
                        }} />
      )}
      {deleting && (
        <ConfirmDialog title={`Delete “${deleting.name}”?`} confirmLabel="Delete" danger busy={busy}
                       onConfirm={() => void remove()} onClose={() => setDeleting(null)}>
          <p>The rule and its history go; nobody is notified by it any more.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
