/** Run the workflow with an input (JSON): prefilled with the input last run from this browser (kept per
 * workflow in localStorage), else the one given (the pinned input or metadata.sample_input). A run uses
 * the active version, so unsaved changes are saved first and a draft is activated first. When steps have
 * pinned outputs, "Test run with pinned data" (on by default) starts a test run in which those steps
 * answer from their pins and the rest run for real (docs/adr/0031). */
import { useState } from "react";

import { ApiError } from "@/lib/api";
import { lastRunInput, rememberRunInput } from "@/lib/pins";

import { Dialog } from "./Dialog";

export interface RunPlan {
  save: boolean;
  activate: boolean;
  testRun: boolean;
}

interface RunDialogProps {
  workflowId: string;
  initialInput: Record<string, unknown>;
  dirty: boolean;
  active: boolean;
  /** The keys of the steps with a pinned output: a test run answers them from their pins. */
  pinnedSteps?: string[];
  onRun: (input: Record<string, unknown>, plan: RunPlan) => Promise<void>;
  onClose: () => void;
}

export function parseRunInput(text: string): { value?: Record<string, unknown>; error?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text.trim() || "{}");
  } catch (error) {
    return { error: `Not valid JSON: ${(error as Error).message}` };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return { error: "The input must be a JSON object: { … }" };
  return { value: value as Record<string, unknown> };
}

export function RunDialog({ workflowId, initialInput, dirty, active, pinnedSteps = [], onRun, onClose }: RunDialogProps) {
  const [text, setText] = useState(() => JSON.stringify(lastRunInput(workflowId) ?? initialInput, null, 2));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [needsActivation, setNeedsActivation] = useState(!active);
  const [withPins, setWithPins] = useState(pinnedSteps.length > 0);
  const parsed = parseRunInput(text);

  const plan: RunPlan = { save: dirty, activate: needsActivation, testRun: withPins && pinnedSteps.length > 0 };
  const verb = plan.testRun ? "test run" : "run";
  const label = plan.save && plan.activate ? `Save, activate and ${verb}` : plan.save ? `Save and ${verb}`
    : plan.activate ? `Activate and ${verb}` : plan.testRun ? "Test run" : "Run";

  const submit = async () => {
    if (!parsed.value) return;
    setBusy(true);
    setError(null);
    rememberRunInput(workflowId, parsed.value);
    try {
      await onRun(parsed.value, plan);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && /activate/i.test(err.message)) {
        setNeedsActivation(true);
        setError(`${err.message}. Activate it to run it.`);
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="Run workflow" onClose={onClose}
            footer={(
              <>
                <button type="button" className="btn" onClick={onClose}>Cancel</button>
                <button type="button" className="btn btn-primary" onClick={submit} disabled={busy || !parsed.value}>
                  {busy ? "Starting…" : label}
                </button>
              </>
            )}>
      <div className={`field${parsed.error ? " invalid" : ""}`}>
        <label className="field-label" htmlFor="run-input">Input (JSON)</label>
        <textarea id="run-input" className="fp-json" rows={10} value={text} spellCheck={false}
                  onChange={(e) => setText(e.target.value)}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) submit();
                  }} />
        <div className="field-help">Steps read it as <code>{"{{ input.<field> }}"}</code>. Ctrl+Enter runs.</div>
        {parsed.error && <p className="field-error" role="alert">{parsed.error}</p>}
      </div>
      {pinnedSteps.length > 0 && (
        <div className="field">
          <label className="fp-check">
            <input type="checkbox" checked={withPins} onChange={(e) => setWithPins(e.target.checked)} />
            {" "}Test run with pinned data
          </label>
          <div className="field-help">
            {withPins
              ? <>Pinned {pinnedSteps.length === 1 ? "step" : "steps"} <code>{pinnedSteps.join(", ")}</code> answer from their pins without running (marked mocked); the other steps run for real. The run is flagged as a test run and not counted in the metrics.</>
              : "A normal run: every step runs for real, pins are not used."}
          </div>
        </div>
      )}
      {plan.save && <p className="fp-note">You have unsaved changes: they will be saved first.</p>}
      {plan.activate && (
        <p className="fp-note">
          This workflow is not active. Runs use the active version, so it will be activated first (its saved definition becomes a new version).
        </p>
      )}
      {error && <p className="form-error" role="alert">{error}</p>}
    </Dialog>
  );
}
