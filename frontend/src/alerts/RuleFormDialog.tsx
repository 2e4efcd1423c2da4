/** Create or edit an alert rule: the fields of its kind (a failure rate as a percentage, a p95 in
 * seconds, hours without a success), the window, the cooldown and the channels. Checked before
 * saving; the server's field errors land next to the same fields. */
import { useState, type FormEvent, type ReactNode } from "react";

import { Dialog } from "@/designer/Dialog";
import { ApiError } from "@/lib/api";

import { ChannelsEditor } from "./ChannelsEditor";
import { saveAlertRule } from "./queries";
import { emptyRuleForm, formToPayload, ruleToForm, validateRuleForm, type FormErrors, type RuleForm } from "./rule-form";
import { ALERT_KINDS, type AlertKind, type AlertRule } from "./types";

interface Props {
  rule?: AlertRule;
  workflows: { id: string; name: string }[];
  onClose: () => void;
  onSaved: (rule: AlertRule) => void;
}

export function RuleFormDialog({ rule, workflows, onClose, onSaved }: Props) {
  const [form, setForm] = useState<RuleForm>(() => (rule ? ruleToForm(rule) : emptyRuleForm()));
  const [errors, setErrors] = useState<FormErrors>({});
  const [checked, setChecked] = useState(false);
  const [problem, setProblem] = useState("");
  const [saving, setSaving] = useState(false);

  const update = (patch: Partial<RuleForm>) => {
    const next = { ...form, ...patch };
    setForm(next);
    if (checked) setErrors(validateRuleForm(next));
  };

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    const found = validateRuleForm(form);
    setChecked(true);
    setErrors(found);
    setProblem("");
    if (Object.keys(found).length) return;
    setSaving(true);
    try {
      onSaved(await saveAlertRule(formToPayload(form), rule?.id));
    } catch (error) {
      if (error instanceof ApiError) {
        setErrors(Object.fromEntries(Object.entries(error.fields).map(([key, value]) => [key, Array.isArray(value) ? value.join(" ") : String(value)])));
        setProblem(error.message);
      } else {
        setProblem(String(error));
      }
    } finally {
      setSaving(false);
    }
  };

  const measured = form.kind !== "no_success";
  return (
    <Dialog title={rule ? `Edit “${rule.name}”` : "New alert rule"} onClose={onClose} wide
            footer={(
              <>
                <button type="button" className="btn" onClick={onClose}>Cancel</button>
                <button type="submit" form="alert-rule-form" className="btn btn-primary" disabled={saving}>
                  {saving ? "Saving…" : rule ? "Save rule" : "Create rule"}
                </button>
              </>
            )}>
      <form id="alert-rule-form" className="alert-form" onSubmit={(event) => void submit(event)} noValidate>
        <Field label="Name" error={errors.name}>
          <input value={form.name} onChange={(event) => update({ name: event.target.value })} placeholder="Patient registration failing" />
        </Field>
        <div className="alert-form-row">
          <Field label="Workflow" error={errors.workflow_id} help="Empty: all your workflows together.">
            <select value={form.workflowId} onChange={(event) => update({ workflowId: event.target.value })}>
              <option value="">All workflows</option>
              {workflows.map((workflow) => <option key={workflow.id} value={workflow.id}>{workflow.name}</option>)}
            </select>
          </Field>
          <Field label="Step key" error={errors.step_key} help="Watch this step's attempts only; empty: whole runs.">
            <input value={form.stepKey} onChange={(event) => update({ stepKey: event.target.value })} placeholder="create_patient" />
          </Field>
        </div>
        <Field label="Kind" error={errors.kind}>
          <select value={form.kind} onChange={(event) => update({ kind: event.target.value as AlertKind })}>
            {ALERT_KINDS.map((kind) => <option key={kind.value} value={kind.value}>{kind.label}</option>)}
          </select>
        </Field>
        <div className="alert-form-row">
          {form.kind === "failure_rate" && (
            <Field label="Threshold (%)" error={errors.threshold} help="Fires when the failure rate is above it.">
              <input inputMode="decimal" value={form.thresholdPercent} onChange={(event) => update({ thresholdPercent: event.target.value })} />
            </Field>
          )}
          {form.kind === "p95_duration" && (
            <Field label="Threshold (seconds)" error={errors.threshold} help="Fires when the p95 duration is above it.">
              <input inputMode="decimal" value={form.thresholdSeconds} onChange={(event) => update({ thresholdSeconds: event.target.value })} />
            </Field>
          )}
          {form.kind === "no_success" && (
            <Field label="Hours without a success" error={errors.hours} help="Fires when no run succeeded in this long.">
              <input inputMode="decimal" value={form.hours} onChange={(event) => update({ hours: event.target.value })} />
            </Field>
          )}
          {measured && (
            <>
              <Field label="Window (minutes)" error={errors.window_minutes} help="The time measured, ending now.">
                <input inputMode="numeric" value={form.windowMinutes} onChange={(event) => update({ windowMinutes: event.target.value })} />
              </Field>
              <Field label="Minimum runs" error={errors.min_runs} help="Fewer runs in the window are not judged.">
                <input inputMode="numeric" value={form.minRuns} onChange={(event) => update({ minRuns: event.target.value })} />
              </Field>
            </>
          )}
          <Field label="Cooldown (minutes)" error={errors.cooldown_minutes} help="No new notification sooner than this.">
            <input inputMode="numeric" value={form.cooldownMinutes} onChange={(event) => update({ cooldownMinutes: event.target.value })} />
          </Field>
        </div>
        <label className="inline alert-enabled">
          <input type="checkbox" checked={form.enabled} onChange={(event) => update({ enabled: event.target.checked })} />
          <span>Enabled</span>
        </label>
        <ChannelsEditor channels={form.channels} errors={errors} onChange={(channels) => update({ channels })} />
        {problem && <p className="form-error" role="alert">{problem}</p>}
        {checked && !problem && Object.keys(errors).length > 0 && (
          <p className="form-error" role="alert">Fix the fields marked above.</p>
        )}
      </form>
    </Dialog>
  );
}

function Field({ label, error, help, children }: { label: string; error?: string; help?: string; children: ReactNode }) {
  return (
    <label className={`field${error ? " invalid" : ""}`}>
      <span>{label}</span>
      {children}
      {error ? <span className="field-error">{error}</span> : help ? <span className="field-help">{help}</span> : null}
    </label>
  );
}
