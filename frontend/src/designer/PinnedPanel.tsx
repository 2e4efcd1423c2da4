/** A step's pinned data in the step editor: the input and output a run recorded (or the user typed),
 * which "Test this step" of the steps downstream use as this step's output. Editable: Save pin keeps
 * it for the workflow (PUT .../pinned-data/), Unpin drops it. */
import { useContext, useEffect, useState } from "react";

import { NO_PINS } from "@/lib/pins";
import { toast } from "@/lib/toast";

import { PinsContext, useDesigner } from "./context";

const pretty = (value: unknown) => JSON.stringify(value, null, 2);

export function PinnedPanel({ stepKey }: { stepKey: string }) {
  const save = useContext(PinsContext);
  const pins = useDesigner((s) => s.pins);
  const pin = pins?.steps[stepKey];
  const [text, setText] = useState(() => (pin && "output" in pin ? pretty(pin.output) : ""));
  useEffect(() => setText(pin && "output" in pin ? pretty(pin.output) : ""), [pin]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const write = async (output: unknown | undefined) => {
    if (!save) return;
    const current = pins ?? NO_PINS;
    const steps = { ...current.steps };
    if (output === undefined) delete steps[stepKey];
    else steps[stepKey] = { ...(steps[stepKey]?.input !== undefined ? { input: steps[stepKey].input } : {}), output };
    setBusy(true);
    try {
      await save({ ...current, steps });
      setError(null);
      toast(output === undefined ? `Unpinned ${stepKey}` : `Pinned the output of ${stepKey}`);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const pinText = () => {
    try {
      void write(JSON.parse(text));
    } catch (err) {
      setError(`Not valid JSON: ${(err as Error).message}`);
    }
  };

  return (
    <section className="fp-pins" aria-label="Pinned data">
      <h3 className="fp-editor-section">Pinned data {pins?.source_execution && pin && <span className="small muted">from run {pins.source_execution.slice(0, 8)}</span>}</h3>
      {pin?.input !== undefined && (
        <details>
          <summary>Recorded input (rendered config)</summary>
          <pre className="fp-pre" aria-label="Pinned input">{pretty(pin.input)}</pre>
        </details>
      )}
      <label className="field">
        <span>Pinned output</span>
        <textarea className="fp-json" rows={5} value={text} spellCheck={false} placeholder="No output pinned: Test uses a placeholder downstream"
                  onChange={(e) => setText(e.target.value)} />
        <div className="field-help">What <code>{`{{ steps.${stepKey}.output }}`}</code> holds when a step downstream is tested. Never used by a run.</div>
      </label>
      {error && <p className="form-error" role="alert">{error}</p>}
      <div className="inline">
        <button type="button" className="btn btn-sm" onClick={pinText} disabled={busy || !save || !text.trim()}>Save pin</button>
        {pin && <button type="button" className="btn btn-sm btn-ghost" onClick={() => void write(undefined)} disabled={busy || !save}>Unpin</button>}
      </div>
    </section>
  );
}
