/** "Rerun from step…" for many finished runs (a selection or the list's filters): choose the step,
 * see the server's dry run (how many would rerun, which are refused and why), then rerun. */
import { useEffect, useState } from "react";

import type { BulkRerunResult } from "@/lib/types";

import { ConfirmDialog } from "./ConfirmDialog";

interface Props {
  /** What is rerun, in words: "3 selected executions", "the matching executions of Orders". */
  what: string;
  /** The steps they can all be rerun from; null while loading. */
  stepKeys: string[] | null;
  /** Why none can be chosen (a selection spanning workflows with no step in common). */
  problem?: string;
  preview: (fromStep: string) => Promise<BulkRerunResult>;
  onRerun: (fromStep: string) => Promise<void>;
  onClose: () => void;
}

export function BulkRerunDialog({ what, stepKeys, problem, preview, onRerun, onClose }: Props) {
  const [step, setStep] = useState("");
  const [dry, setDry] = useState<BulkRerunResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let current = true;
    setDry(null);
    setError(null);
    if (step) {
      preview(step).then((answer) => current && setDry(answer),
                         (err: unknown) => current && setError(err instanceof Error ? err.message : String(err)));
    }
    return () => { current = false; };
  }, [step, preview]);

  const refused = Object.entries(dry?.refused ?? {});
  const confirm = async () => {
    if (!step || !dry?.count) return;
    setBusy(true);
    try {
      await onRerun(step);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <ConfirmDialog title={`Rerun ${what} from a step`} confirmLabel={dry ? `Rerun ${dry.count}` : "Rerun"}
                   busy={busy} disabled={!dry || !dry.count} onConfirm={() => void confirm()} onClose={onClose}>
      <p>Each run is re-opened at the step: it and everything downstream run again as new attempts; the steps upstream keep their outputs.</p>
      {problem ? <p className="form-error" role="alert">{problem}</p> : stepKeys === null ? <p className="muted">Loading the steps…</p> : (
        <div className="field">
          <label className="field-label" htmlFor="bulk-rerun-step">From step</label>
          <select id="bulk-rerun-step" className="input" value={step} onChange={(e) => setStep(e.target.value)}>
            <option value="">Choose a step…</option>
            {stepKeys.map((key) => <option key={key} value={key}>{key}</option>)}
          </select>
        </div>
      )}
      {step && !dry && !error && <p className="muted">Checking…</p>}
      {dry && (
        <div data-testid="bulk-rerun-preview">
          <p><strong>{dry.count}</strong> execution{dry.count === 1 ? "" : "s"} will rerun from <code>{step}</code>.</p>
          {refused.length > 0 && (
            <>
              <p>{refused.length} will not:</p>
              <ul className="small">
                {refused.slice(0, 5).map(([id, reason]) => <li key={id}><span className="mono">#{id.slice(0, 8)}</span> {reason}</li>)}
                {refused.length > 5 && <li className="muted">and {refused.length - 5} more</li>}
              </ul>
            </>
          )}
        </div>
      )}
      {error && <p className="form-error" role="alert">{error}</p>}
    </ConfirmDialog>
  );
}
