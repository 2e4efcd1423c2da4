/** The right-hand panel: the selected step's key, name, config (a form generated from its step
 * type's schema), dependencies, advanced settings and a test run; with nothing selected, the list
 * of problems in the workflow. A code workflow's step is shown read-only, as its code declares it. */
import { memo, useEffect, useMemo, useState } from "react";

import { useCredentialNames } from "@/hooks/use-credential-names";
import { fieldSuggestions } from "@/lib/condition";
import { FAILED_BRANCH, graphAncestry, parseRef, type StepNodeData } from "@/lib/graph";
import { humanize } from "@/lib/schema-form";
import { templateSuggestions } from "@/lib/template-hints";
import type { StepDefinition } from "@/lib/types";
import { issuesAt, isWarning, keyProblem, type Issue } from "@/lib/validation";

import { ConditionFieldsContext } from "./ConditionBuilder";
import { useDesigner, useDesignerApi } from "./context";
import { PinnedPanel } from "./PinnedPanel";
import { SchemaForm } from "./SchemaForm";
import { StepLimits, type StepLimitsValue } from "./StepLimits";
import { HintsContext, TemplateInput } from "./TemplateInput";
import { TestStep } from "./TestStep";

const NO_ISSUES: Issue[] = [];

export const NodeEditor = memo(function NodeEditor({ sampleInput }: { sampleInput: Record<string, unknown> }) {
  const selected = useDesigner((s) => s.selected);
  const step = useDesigner((s) => (s.selected ? s.nodes.find((n) => n.id === s.selected)?.data.step : undefined));
  const code = useDesigner((s) => s.viewing?.code === true);
  if (!selected || !step) return code ? <CodeHelp /> : <ProblemsPanel />;
  if (code) return <CodeStepView key={selected} stepKey={selected} />;
  return <StepEditor key={selected} stepKey={selected} step={step} sampleInput={sampleInput} />;
});

/** Several steps selected: say so, and offer what applies to them all. */
function SelectionPanel({ count, readOnly }: { count: number; readOnly: boolean }) {
  const api = useDesignerApi();
  return (
    <div className="fp-selection" data-testid="selection-panel">
      <strong>{count} steps selected</strong>
      <span className="muted small">Drag one to move them together; Ctrl+C copies them.</span>
      {!readOnly && (
        <div className="fp-trigger-actions">
          <button type="button" className="btn btn-sm btn-danger" data-testid="delete-selected"
                  onClick={() => api.getState().deleteSelected()}>Delete {count} steps</button>
          <button type="button" className="btn btn-sm" onClick={() => api.getState().select([])}>Clear selection</button>
        </div>
      )}
    </div>
  );
}

function ProblemsPanel() {
  const api = useDesignerApi();
  const issues = useDesigner((s) => s.issues);
  const general = useDesigner((s) => s.generalErrors);
  const count = useDesigner((s) => s.nodes.length);
  const chosen = useDesigner((s) => s.nodes.reduce((n, node) => n + (node.selected ? 1 : 0), 0));
  const readOnly = useDesigner((s) => s.viewing !== null);
  const entries = Object.entries(issues).filter(([, list]) => list.length);
  return (
    <div className="fp-editor-body">
      {chosen > 1 ? <SelectionPanel count={chosen} readOnly={readOnly} /> : (
        <p className="muted">
          {count ? "Select a step to edit it. Shift-drag to select several; Ctrl-click to add to the selection." : "Add a step from the palette to begin."}
        </p>
      )}
      {(entries.length > 0 || general.length > 0) && (
        <div className="fp-problems">
          <h3>Problems</h3>
          <ul>
            {general.map((message, i) => (
              <li key={`g${i}`} className="fp-problem">{message}</li>
            ))}
            {entries.map(([key, list]) => (
              <li key={key}>
                <button type="button" className="fp-problem-step" onClick={() => api.getState().select([key])}>{key}</button>
                <ul>
                  {list.map((issue, i) => (
                    <li key={i} className={isWarning(issue) ? "fp-problem fp-problem-warning" : "fp-problem"}>
                      {isWarning(issue) && <strong>Warning: </strong>}{issue.field}: {issue.message}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

function CodeHelp() {
  return (
    <div className="fp-editor-body">
      <p className="muted">Select a step to see what its code declares. This workflow is edited in Python.</p>
    </div>
  );
}

const NO_CODE: NonNullable<StepNodeData["code"]> = { start: false, action: "", retry: {} };

/** A code step, read-only: whether runs start there, the action feeding it, its timeout and retry, its moves. */
function CodeStepView({ stepKey }: { stepKey: string }) {
  const data = useDesigner((s) => s.nodes.find((n) => n.id === stepKey)?.data);
  const edges = useDesigner((s) => s.edges);
  if (!data) return null;
  const code = data.code ?? NO_CODE;
  const retry = Object.entries(code.retry).filter(([, value]) => value !== null && value !== undefined);
  const moves = (list: typeof edges, end: "source" | "target") => list.map((edge) => (
    <li key={edge.id}><code className="fp-dep">{edge[end]}</code> <span className="muted small">({edge.data?.move})</span></li>
  ));
  const out = edges.filter((e) => e.source === stepKey);
  const into = edges.filter((e) => e.target === stepKey);
  return (
    <div className="fp-editor-body" aria-label={`Step ${stepKey}`}>
      <div className="fp-editor-type">
        <strong className="mono">{stepKey}</strong>
        <span className="muted small">A step of a workflow defined in code: edit it in Python.</span>
      </div>
      <dl className="fp-code-step small">
        <dt>Start</dt><dd>{code.start ? "Runs start here" : "No"}</dd>
        <dt>Action</dt><dd>{code.action ? <code>POST /api/v1/actions/{code.action}/</code> : "None"}</dd>
        <dt>Timeout</dt><dd>{data.step.timeout_seconds != null ? `${data.step.timeout_seconds} s` : "None"}</dd>
        <dt>Retry</dt><dd>{retry.length ? retry.map(([k, v]) => `${humanize(k)}: ${String(v)}`).join(", ") : "The workflow's"}</dd>
      </dl>
      {out.length > 0 && <><h3 className="fp-editor-section">Moves on to</h3><ul className="fp-code-moves">{moves(out, "target")}</ul></>}
      {into.length > 0 && <><h3 className="fp-editor-section">Reached from</h3><ul className="fp-code-moves">{moves(into, "source")}</ul></>}
    </div>
  );
}

interface StepEditorProps {
  stepKey: string;
  step: StepDefinition;
  sampleInput: Record<string, unknown>;
}

function numberOrNull(text: string): number | null {
  if (text.trim() === "") return null;
  const value = Number(text);
  return Number.isNaN(value) ? null : value;
}

export function StepEditor({ stepKey, step, sampleInput }: StepEditorProps) {
  const api = useDesignerApi();
  const stepType = useDesigner((s) => s.stepTypes[step.task_type]);
  const stepTypes = useDesigner((s) => s.stepTypes);
  const issues = useDesigner((s) => s.issues[stepKey]) ?? NO_ISSUES;
  const readOnly = useDesigner((s) => s.viewing !== null);
  // Open a run in the designer and Test is what one does next: shown open while pins are there.
  const testOpen = useDesigner((s) => !!s.pins?.source_execution);
  const revision = useDesigner((s) => s.revision);
  const secrets = useCredentialNames();
  const [keyText, setKeyText] = useState(stepKey);
  const [keyError, setKeyError] = useState<string | null>(null);
  useEffect(() => setKeyText(stepKey), [stepKey]);

  const { hints, upstream } = useMemo(() => {
    const { nodes, edges } = api.getState();
    // The graph's ancestry is kept per graph (graphAncestry): this step's walk, once per graph.
    const ancestry = graphAncestry(nodes, edges);
    const steps = nodes.map((n) => ({ key: n.id, name: n.data.step.name, task_type: n.data.step.task_type, depends_on: [] }));
    const byKey = new Map(steps.map((s) => [s.key, s]));
    return {
      hints: templateSuggestions(steps, stepTypes, stepKey, secrets, ancestry),
      upstream: ancestry.of(stepKey).map((key) => ({ key, type: stepTypes[byKey.get(key)?.task_type ?? ""] })),
    };
    // The revision stands for the graph (and the steps' names and types): ancestors change only with it.
  }, [api, revision, stepKey, stepTypes, secrets]);
  // A condition builder's field: the sample input's paths and the upstream outputs.
  const conditionFields = useMemo(() => fieldSuggestions(sampleInput, hints), [sampleInput, hints]);

  const update = (patch: Partial<StepDefinition>, tag?: string) => api.getState().updateStep(stepKey, patch, tag);

  const changeKey = (text: string) => {
    setKeyText(text);
    if (text === stepKey) return setKeyError(null);
    const problem = keyProblem(text, api.getState().limits); // the server's rule, from GET /api/v1/limits/
    if (problem) return setKeyError(problem);
    const result = api.getState().renameStep(stepKey, text);
    setKeyError(result.ok ? null : result.reason);
  };

  const id = `step-${stepKey}`;
  const compensateIssues = issuesAt(issues, "compensate_with");
  const keyIssues = [...(keyError ? [{ field: "key", message: keyError }] : []), ...issuesAt(issues, "key")];
  const general = [...issuesAt(issues, "task_type"), ...issuesAt(issues, "step"), ...issuesAt(issues, "depends_on")];
  const retryIssues = ["max_retries", "retry_base_delay", "timeout_seconds", "continue_on_failure", "compensate_with", "when", "retry"].flatMap((f) => issuesAt(issues, f));

  return (
    <HintsContext.Provider value={hints}>
      <ConditionFieldsContext.Provider value={conditionFields}>
      <div className="fp-editor-body" aria-label={`Step ${stepKey}`}>
        <div className="fp-editor-type">
          <strong>{humanize(step.task_type)}</strong>
          {stepType && <span className="muted small">{stepType.description}</span>}
        </div>
        {general.map((issue, i) => (
          <p key={i} className="field-error" role="alert">{issue.field === "step" ? issue.message : `${humanize(issue.field)}: ${issue.message}`}</p>
        ))}
        <div className={`field${keyIssues.length ? " invalid" : ""}`}>
          <label className="field-label" htmlFor={`${id}-key`}>Key</label>
          <input id={`${id}-key`} className="mono" value={keyText} disabled={readOnly} spellCheck={false}
                 aria-invalid={keyIssues.length > 0 || undefined}
                 onChange={(e) => changeKey(e.target.value)}
                 onBlur={() => {
                   if (keyError) {
                     setKeyText(stepKey);
                     setKeyError(null);
                   }
                 }} />
          <div className="field-help">Other steps use it: <code>{`{{ steps.${stepKey}.output }}`}</code></div>
          {keyIssues.map((issue, i) => <p key={i} className="field-error" role="alert">{issue.message}</p>)}
        </div>
        <div className="field">
          <label className="field-label" htmlFor={`${id}-name`}>Name</label>
          <input id={`${id}-name`} value={step.name} disabled={readOnly} onChange={(e) => update({ name: e.target.value }, "name")} />
        </div>

        <h3 className="fp-editor-section">Configuration</h3>
        {stepType ? (
          <SchemaForm schema={stepType.config_schema} value={step.config ?? {}} issues={issues} idPrefix={id} disabled={readOnly}
                      onChange={(config) => update({ config }, "config")} />
        ) : (
          <SchemaForm schema={{ type: "object", title: "Config (JSON)" }} value={step.config ?? {}} issues={issues} idPrefix={id}
                      disabled={readOnly} onChange={(config) => update({ config }, "config")} />
        )}

        {step.depends_on.length > 0 && (
          <div className="fp-deps small">
            <span className="muted">Runs after </span>
            {step.depends_on.map((ref) => {
              const { key, branch } = parseRef(ref);
              const how = branch === FAILED_BRANCH ? " (on failure)" : branch ? ` (${branch})` : "";
              return <code key={ref} className="fp-dep">{key}{how}</code>;
            })}
          </div>
        )}

        <details className="fp-advanced" open={retryIssues.length > 0 || undefined}>
          <summary>Advanced: retries, timeout, condition</summary>
          <div className="fp-advanced-grid">
            <AdvancedNumber id={`${id}-max_retries`} label="Max retries" value={step.max_retries} disabled={readOnly}
                            help="Default: the workflow's" issues={issuesAt(issues, "max_retries")}
                            onChange={(v) => update({ max_retries: v }, "max_retries")} />
            <AdvancedNumber id={`${id}-retry_base_delay`} label="Retry base delay (s)" value={step.retry_base_delay} disabled={readOnly}
                            issues={issuesAt(issues, "retry_base_delay")} onChange={(v) => update({ retry_base_delay: v }, "retry_base_delay")} />
            <AdvancedNumber id={`${id}-timeout_seconds`} label="Timeout (s)" value={step.timeout_seconds} disabled={readOnly}
                            issues={issuesAt(issues, "timeout_seconds")} onChange={(v) => update({ timeout_seconds: v }, "timeout_seconds")} />
          </div>
          <div className={`field${issuesAt(issues, "continue_on_failure").length ? " invalid" : ""}`}>
            <label className="fp-check" htmlFor={`${id}-continue_on_failure`}>
              <input id={`${id}-continue_on_failure`} type="checkbox" checked={step.continue_on_failure ?? false}
                     disabled={readOnly}
                     onChange={(e) => update({ continue_on_failure: e.target.checked }, "continue_on_failure")} />
              {" "}Continue on failure
            </label>
            <div className="field-help">
              When it fails for good, the run carries on as if it completed, its output {"{\"error\": {...}}"} carrying
              the error. For a separate path instead, draw an edge from its red "failed" handle.
            </div>
            {issuesAt(issues, "continue_on_failure").map((issue, i) => (
              <p key={i} className="field-error" role="alert">{issue.message}</p>
            ))}
          </div>
          <CompensateWith id={`${id}-compensate_with`} stepKey={stepKey} value={step.compensate_with ?? ""}
                          disabled={readOnly} issues={compensateIssues}
                          onChange={(value) => update({ compensate_with: value }, "compensate_with")} />
          <div className={`field${issuesAt(issues, "when").length ? " invalid" : ""}`}>
            <label className="field-label" htmlFor={`${id}-when`}>Run only when</label>
            <TemplateInput id={`${id}-when`} value={step.when ?? ""} disabled={readOnly} placeholder="e.g. input.amount > 100"
                           onChange={(when) => update({ when }, "when")} />
            <div className="field-help">A condition; when false the step is skipped.</div>
            {[...issuesAt(issues, "when"), ...issuesAt(issues, "retry")].map((issue, i) => (
              <p key={i} className="field-error" role="alert">{issue.message}</p>
            ))}
          </div>
        </details>

        {stepType?.calls_hosts && (
          <details className="fp-advanced" open={issuesAt(issues, "limits", true).length > 0 || undefined}>
            <summary>Limits: rate and concurrency</summary>
            <StepLimits value={step.limits as StepLimitsValue | undefined} issues={issues} idPrefix={id} disabled={readOnly}
                        onChange={(limits) => update({ limits }, "limits")} />
          </details>
        )}

        <PinnedPanel stepKey={stepKey} />

        {stepType && !readOnly && (
          <details className="fp-advanced" open={testOpen || undefined}>
            <summary>Test this step</summary>
            <TestStep step={step} stepType={stepType} upstream={upstream} sampleInput={sampleInput} />
          </details>
        )}
      </div>
      </ConditionFieldsContext.Provider>
    </HintsContext.Provider>
  );
}

/** The step that undoes this one (compensate_with): a step that runs only as a compensation, drawn as a
 * dashed violet "compensate" link. Offered: every other step; the server refuses one in the normal flow. */
function CompensateWith({ id, stepKey, value, issues, disabled, onChange }: {
  id: string; stepKey: string; value: string; issues: Issue[]; disabled?: boolean; onChange: (value: string) => void;
}) {
  const keys = useDesigner((s) => s.nodes.map((n) => n.id).join("\n"));
  const others = keys.split("\n").filter((key) => key && key !== stepKey);
  return (
    <div className={`field${issues.length ? " invalid" : ""}`}>
      <label className="field-label" htmlFor={id}>Compensate with</label>
      <select id={id} value={value} disabled={disabled} onChange={(e) => onChange(e.target.value)}>
        <option value="">None</option>
        {others.map((key) => <option key={key} value={key}>{key}</option>)}
        {value && !others.includes(value) && <option value={value}>{value} (missing)</option>}
      </select>
      <div className="field-help">
        The step that undoes this one when a run fails for good (or is cancelled with compensate) after it completed:
        compensations run latest completed first. That step runs only as a compensation (no edges into or out of it).
      </div>
      {issues.map((issue, i) => <p key={i} className="field-error" role="alert">{issue.message}</p>)}
    </div>
  );
}

function AdvancedNumber({ id, label, value, help, issues, disabled, onChange }: {
  id: string; label: string; value: number | null | undefined; help?: string; issues: Issue[]; disabled?: boolean;
  onChange: (value: number | null) => void;
}) {
  return (
    <div className={`field${issues.length ? " invalid" : ""}`}>
      <label className="field-label" htmlFor={id}>{label}</label>
      <input id={id} type="number" min={0} value={value ?? ""} placeholder={help ?? "Default"} disabled={disabled}
             onChange={(e) => onChange(numberOrNull(e.target.value))} />
      {issues.map((issue, i) => <p key={i} className="field-error" role="alert">{issue.message}</p>)}
    </div>
  );
}
