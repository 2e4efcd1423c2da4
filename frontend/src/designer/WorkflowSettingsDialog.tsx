/** A workflow's settings: description, default retry policy, concurrency, limits (flow control), search fields, error
 * workflow. Saved with
 * PATCH; the server checks every value and its field errors are shown next to the fields. */
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { ApiError } from "@/lib/api";
import type { Workflow } from "@/lib/types";

import { Dialog } from "./Dialog";
import {
  limitsBody, limitsForm, manage, settingsBody, settingsForm, useErrorWorkflowOptions, type LimitsForm, type NumberField,
  type SettingsForm,
} from "./workflow-manage";

type LimitsPart = "concurrency" | "rate" | "debounce";
/** The Limits section's fields: part, field, label, placeholder, help. */
const LIMIT_FIELDS: [LimitsPart, string, string, string, string][] = [
  ["concurrency", "max", "Max running", "no limit", "At most this many running runs per key value; more wait as pending."],
  ["concurrency", "key", "Key", "{{ input.tenant }}", "A template over the input; empty: one key for all runs."],
  ["concurrency", "name", "Shared name", "ehr", "Shared by every workflow of yours naming it."],
  ["rate", "limit", "Starts", "no limit", "At most this many run starts..."],
  ["rate", "per_seconds", "Per (s)", "1", "...per this many seconds; later runs wait for their slot."],
  ["rate", "burst", "Burst", "1", "How many may start at once after a quiet time."],
  ["rate", "key", "Key", "{{ input.tenant }}", "A template over the input; empty: one key for all runs."],
  ["rate", "name", "Shared name", "sms-provider", "Shared by every workflow of yours naming it."],
  ["debounce", "seconds", "Window (s)", "none", "A trigger with the same key within the window replaces the pending run."],
  ["debounce", "key", "Key", "{{ input.user_id }}", "A template over the input; empty: one key for all runs."],
];
const PART_TITLES: Record<LimitsPart, string> = {
  concurrency: "Concurrency limit", rate: "Rate limit", debounce: "Debounce",
};

const NUMBER_FIELDS: [NumberField, string, string][] = [
  ["max_retries", "Retries", "How many times a failed step is tried again (a step's own setting wins). Empty: 3."],
  ["retry_base_delay", "First retry after (s)", "Seconds before the first retry. Empty: 1."],
  ["retry_backoff_factor", "Backoff factor", "Each retry waits this many times longer. Empty: 2."],
  ["retry_max_delay", "Longest wait (s)", "No retry waits longer. Empty: 300."],
  ["max_concurrency", "Max concurrent runs", "More runs wait as pending, first in first out. Empty: no limit."],
];

export function WorkflowSettingsDialog({ workflow, onClose, onSaved }: {
  workflow: Workflow; onClose: () => void; onSaved: (workflow: Workflow) => void;
}) {
  const [form, setForm] = useState<SettingsForm>(() => settingsForm(workflow));
  const [limits, setLimits] = useState<LimitsForm>(() => limitsForm(workflow));
  const errorWorkflows = useErrorWorkflowOptions(workflow.id);
  const save = useMutation({
    mutationFn: () => manage.update(workflow.id, { ...settingsBody(form), limits: limitsBody(limits) }),
    onSuccess: (saved) => {
      onSaved(saved);
      onClose();
    },
  });
  const fields = save.error instanceof ApiError ? (save.error.fields as Record<string, string[]>) : {};
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    save.mutate();
  };
  const fieldError = (name: string) => fields[name] && <p className="field-error" role="alert">{fields[name].join(" ")}</p>;
  return (
    <Dialog title={`Settings of ${workflow.name}`} onClose={onClose} wide
            footer={(
              <>
                <button type="button" className="btn" onClick={onClose}>Cancel</button>
                <button type="submit" form="workflow-settings" className="btn btn-primary" disabled={save.isPending}>
                  {save.isPending ? "Saving…" : "Save settings"}
                </button>
              </>
            )}>
      <form id="workflow-settings" onSubmit={submit} className="fp-settings-form">
        <div className="field">
          <label className="field-label" htmlFor="settings-description">Description</label>
          <textarea id="settings-description" rows={3} value={form.description}
                    onChange={(e) => setForm({ ...form, description: e.target.value })}
                    style={{ fontFamily: "inherit", fontSize: "inherit" }} />
          {fieldError("description")}
        </div>
        <h4>Default retry policy</h4>
        <div className="fp-settings-grid">
          {NUMBER_FIELDS.slice(0, 4).map(([name, label, help]) => (
            <div className="field" key={name}>
              <label className="field-label" htmlFor={`settings-${name}`}>{label}</label>
              <input id={`settings-${name}`} inputMode="decimal" value={form[name]} placeholder="default"
                     onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
              <p className="muted small">{help}</p>
              {fieldError(name)}
            </div>
          ))}
        </div>
        <h4>Concurrency</h4>
        <div className="fp-settings-grid">
          {NUMBER_FIELDS.slice(4).map(([name, label, help]) => (
            <div className="field" key={name}>
              <label className="field-label" htmlFor={`settings-${name}`}>{label}</label>
              <input id={`settings-${name}`} inputMode="numeric" value={form[name]} placeholder="no limit"
                     onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
              <p className="muted small">{help}</p>
              {fieldError(name)}
            </div>
          ))}
          <div className="field">
            <label className="field-label" htmlFor="settings-concurrency_key">Concurrency key</label>
            <input id="settings-concurrency_key" className="mono" value={form.concurrency_key} placeholder="{{ input.email }}"
                   onChange={(e) => setForm({ ...form, concurrency_key: e.target.value })} />
            <p className="muted small">An expression over the input: one running run per value.</p>
            {fieldError("concurrency_key")}
          </div>
        </div>
        <h4>Limits</h4>
        <p className="muted small">
          Flow control when runs start: how many run at once per key, how many start per period, debounce, and which
          waiting runs go first. The server checks every value.
        </p>
        {fieldError("limits")}
        {(["concurrency", "rate", "debounce"] as LimitsPart[]).map((part) => (
          <fieldset key={part} className="fp-settings-grid" aria-label={`${PART_TITLES[part]} limit`}>
            <legend className="field-label">{PART_TITLES[part]}</legend>
            {fieldError(`limits.${part}`)}
            {LIMIT_FIELDS.filter(([p]) => p === part).map(([, name, label, placeholder, help]) => (
              <div className="field" key={name}>
                <label className="field-label" htmlFor={`limits-${part}-${name}`}>{`${PART_TITLES[part]} ${label.toLowerCase()}`}</label>
                <input id={`limits-${part}-${name}`} className={name === "key" || name === "name" ? "mono" : undefined}
                       value={(limits[part] as Record<string, string>)[name]} placeholder={placeholder}
                       onChange={(e) => setLimits({ ...limits, [part]: { ...limits[part], [name]: e.target.value } })} />
                <p className="muted small">{help}</p>
                {fieldError(`limits.${part}.${name}`)}
              </div>
            ))}
          </fieldset>
        ))}
        <div className="field">
          <label className="field-label" htmlFor="limits-priority">Priority</label>
          <input id="limits-priority" className="mono" value={limits.priority}
                 placeholder="{{ input.tier == 'enterprise' and 10 or 0 }}"
                 onChange={(e) => setLimits({ ...limits, priority: e.target.value })} />
          <p className="muted small">
            A template giving a whole number (-1000 to 1000): waiting runs with a higher one take free slots first; a run
            waiting long enough goes first whatever its priority.
          </p>
          {fieldError("limits.priority")}
        </div>
        <h4>When a run fails</h4>
        <div className="field">
          <label className="field-label" htmlFor="settings-error_workflow_id">Error workflow</label>
          <select id="settings-error_workflow_id" value={form.error_workflow_id}
                  onChange={(e) => setForm({ ...form, error_workflow_id: e.target.value })}>
            <option value="">Your default (if you set one)</option>
            {form.error_workflow_id && !errorWorkflows.data?.some((w) => w.id === form.error_workflow_id) && (
              <option value={form.error_workflow_id}>{form.error_workflow_id}</option>
            )}
            {(errorWorkflows.data ?? []).map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
          </select>
          <p className="muted small">
            Started with the failed run&apos;s ids, error, failed step, input and context whenever a run fails for good
            (not when an error workflow&apos;s own run fails).
          </p>
          {fieldError("error_workflow_id")}
        </div>
        <h4>Search fields</h4>
        <p className="muted small">
          Each run keeps these values, so that runs can be found by them (the executions list&apos;s search,
          <span className="mono"> ?search.phone=</span>): a template over the input
          (<span className="mono">{"{{ input.phone }}"}</span>) or a step&apos;s output
          (<span className="mono">{"{{ steps.crm.output.id }}"}</span>). Never secrets.
        </p>
        <div className="fp-search-fields" role="group" aria-label="Search fields">
          {form.search_fields.map((row, index) => (
            <div className="fp-search-field-row" key={index}>
              <input aria-label={`Search field ${index + 1} name`} className="mono" value={row.name} placeholder="phone"
                     onChange={(e) => setForm({ ...form, search_fields: form.search_fields.map((r, i) => (i === index ? { ...r, name: e.target.value } : r)) })} />
              <input aria-label={`Search field ${index + 1} template`} className="mono" value={row.template}
                     placeholder="{{ input.phone }}"
                     onChange={(e) => setForm({ ...form, search_fields: form.search_fields.map((r, i) => (i === index ? { ...r, template: e.target.value } : r)) })} />
              <button type="button" className="btn btn-ghost btn-sm" aria-label={`Remove search field ${index + 1}`}
                      onClick={() => setForm({ ...form, search_fields: form.search_fields.filter((_, i) => i !== index) })}>
                Remove
              </button>
              {fieldError(`search_fields.${row.name.trim()}`)}
            </div>
          ))}
          <button type="button" className="btn btn-sm"
                  onClick={() => setForm({ ...form, search_fields: [...form.search_fields, { name: "", template: "" }] })}>
            Add a search field
          </button>
          {fieldError("search_fields")}
        </div>
        {save.error && (!(save.error instanceof ApiError) || !Object.keys(fields).length) && (
          <p className="form-error" role="alert">{save.error.message}</p>
        )}
      </form>
    </Dialog>
  );
}
