/** "Edit and resume": change a failed run's input and its failed steps' configs for this run only,
 * then resume it (POST .../retry/ with `overrides`). Starts from the values the run uses now; sends
 * what changed; the server checks it and its refusal is shown as it said it. */
import { useId, useMemo, useState } from "react";

import type { ExecutionDetail, VersionStep } from "@/lib/types";

import { ConfirmDialog } from "./ConfirmDialog";
import { buildOverrides, currentConfig, currentInput, stepsToFix, type Overrides } from "./edit-resume";

interface Props {
  execution: ExecutionDetail;
  steps: VersionStep[];
  busy?: boolean;
  error?: string | null;
  onSubmit: (overrides: Overrides) => void;
  onClose: () => void;
}

const pretty = (value: unknown) => JSON.stringify(value, null, 2);

export function EditResumeDialog({ execution, steps, busy, error, onSubmit, onClose }: Props) {
  const id = useId();
  const keys = useMemo(() => stepsToFix(execution), [execution]);
  const [inputText, setInputText] = useState(() => pretty(currentInput(execution)));
  const [configTexts, setConfigTexts] = useState<Record<string, string>>(() => Object.fromEntries(
    keys.map((key) => [key, pretty(currentConfig(execution, key, steps.find((step) => step.key === key)))])));
  const [problem, setProblem] = useState<string | null>(null);

  const submit = () => {
    const built = buildOverrides(execution, steps, inputText, configTexts);
    if ("error" in built) {
      setProblem(built.error);
      return;
    }
    setProblem(null);
    onSubmit(built.overrides);
  };

  const shown = problem ?? error;
  return (
    <ConfirmDialog title="Edit and resume this run" confirmLabel="Resume with these values" busy={busy}
                   onConfirm={submit} onClose={onClose}>
      <p className="muted small">For this run only: the workflow and its versions stay as they are. The run resumes at
        its failed steps with these values; steps that completed keep their results.</p>
      <div className="field">
        <label htmlFor={`${id}-input`}>Run input</label>
        <textarea id={`${id}-input`} rows={6} value={inputText} spellCheck={false}
                  onChange={(event) => setInputText(event.target.value)} />
      </div>
      {keys.map((key) => {
        const step = steps.find((s) => s.key === key);
        return (
          <div className="field" key={key}>
            <label htmlFor={`${id}-${key}`}>Config of <span className="mono">{key}</span>{step ? ` (${step.task_type})` : ""}</label>
            <textarea id={`${id}-${key}`} rows={8} value={configTexts[key] ?? ""} spellCheck={false}
                      onChange={(event) => setConfigTexts({ ...configTexts, [key]: event.target.value })} />
          </div>
        );
      })}
      {shown && <p className="monitor-header-error" role="alert">{shown}</p>}
    </ConfirmDialog>
  );
}
