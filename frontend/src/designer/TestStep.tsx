/** "Test step": run one step's config once on the server with a sample input and the upstream
 * outputs (POST /step-types/<type>/try/), and show what it rendered, returned and logged. The input
 * and the upstream outputs start from the workflow's pinned data (a real run's, when one was opened
 * in the designer); the input as typed is kept in the store while other steps are selected. */
import { ErrorDetails } from "@/components/ErrorDetails";
import { useMutation } from "@tanstack/react-query";
import { useContext, useEffect, useState } from "react";

import { StatusBadge } from "@/components/ui";
import { api, ApiError } from "@/lib/api";
import { hasOutput, NO_PINS, upstreamOutputs } from "@/lib/pins";
import { toast } from "@/lib/toast";
import type { JsonSchema, StepDefinition, StepTryResult as TryResult, StepType } from "@/lib/types";

import { PinsContext, useDesigner, useDesignerApi } from "./context";

interface TestStepProps {
  step: StepDefinition;
  stepType: StepType;
  upstream: { key: string; type?: StepType }[];
  sampleInput: Record<string, unknown>;
}

function sampleOf(schema: JsonSchema | undefined): unknown {
  if (!schema) return null;
  if (schema.properties) return Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, sampleOf(v)]));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (schema.enum?.length) return schema.enum[0];
  return { string: "", integer: 0, number: 0, boolean: false, array: [], object: {} }[type ?? ""] ?? null;
}

const pretty = (value: unknown) => JSON.stringify(value, null, 2);

function parseObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text || "{}");
  } catch (error) {
    throw new Error(`${what} is not valid JSON: ${(error as Error).message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

export function TestStep({ step, stepType, upstream, sampleInput }: TestStepProps) {
  const store = useDesignerApi();
  const pins = useDesigner((s) => s.pins);
  const [input, setInputText] = useState(() => store.getState().testInput ??
    pretty(pins && Object.keys(pins.input).length ? pins.input : sampleInput));
  const setInput = (text: string) => {
    setInputText(text);
    store.getState().setTestInput(text);
  };
  const outputsFrom = (current: typeof pins) => {
    const types = new Map(upstream.map(({ key, type }) => [key, type]));
    return pretty(upstreamOutputs(current, upstream.map((u) => u.key), (key) => sampleOf(types.get(key)?.output_schema) ?? {}));
  };
  const [outputs, setOutputs] = useState(() => outputsFrom(pins));
  useEffect(() => setOutputs(outputsFrom(pins)), [pins]); // upstream is the graph's, read when pins change
  const pinnedUpstream = upstream.filter(({ key }) => hasOutput(pins, key)).map(({ key }) => key);
  const savePins = useContext(PinsContext);
  /** Keep the sample input, or this test's output, as the workflow's pinned data. */
  const pin = async (what: "input" | "output", value: unknown) => {
    if (!savePins) return;
    const current = pins ?? NO_PINS;
    const next = what === "input"
      ? { ...current, input: value as Record<string, unknown> }
      : { ...current, steps: { ...current.steps, [step.key]: { ...current.steps[step.key], output: value } } };
    try {
      await savePins(next);
      toast(what === "input" ? "Pinned the sample input" : `Pinned this output of ${step.key}`);
    } catch (error) {
      setFormError(error instanceof Error ? error.message : String(error));
    }
  };
  const pinInput = () => {
    try {
      void pin("input", parseObject(input, "The sample input"));
    } catch (error) {
      setFormError((error as Error).message);
    }
  };
  const [timeout, setTimeout_] = useState("");
  const [formError, setFormError] = useState<string | null>(null);

  const run = useMutation({
    mutationFn: (body: unknown) => api.post<TryResult>(`step-types/${encodeURIComponent(stepType.name)}/try/`, body),
  });

  const submit = () => {
    try {
      const body = {
        config: step.config,
        input: parseObject(input, "The sample input"),
        steps: parseObject(outputs, "The upstream outputs"),
        ...(timeout ? { timeout_seconds: Number(timeout) } : {}),
      };
      setFormError(null);
      run.mutate(body);
    } catch (error) {
      setFormError((error as Error).message);
    }
  };

  const unavailable = run.error instanceof ApiError && (run.error.status === 404 || run.error.status === 405);
  const result = run.data;

  return (
    <div className="fp-test">
      <label className="field">
        <span>Sample input</span>
        <textarea className="fp-json" rows={4} value={input} onChange={(e) => setInput(e.target.value)} spellCheck={false} />
      </label>
      {upstream.length > 0 && (
        <label className="field">
          <span>Upstream outputs</span>
          <textarea className="fp-json" rows={5} value={outputs} onChange={(e) => setOutputs(e.target.value)} spellCheck={false} />
          <div className="field-help">
            What <code>{"{{ steps.<key>.output }}"}</code> holds for each step upstream
            {pinnedUpstream.length > 0 ? <>: pinned for <span data-testid="pinned-upstream">{pinnedUpstream.join(", ")}</span>.</> : "."}
          </div>
        </label>
      )}
      <label className="field fp-inline-field">
        <span>Test timeout (s)</span>
        <input type="number" min={1} max={300} placeholder="30" value={timeout} onChange={(e) => setTimeout_(e.target.value)} />
      </label>
      {formError && <p className="form-error" role="alert">{formError}</p>}
      <div className="inline">
        <button type="button" className="btn" onClick={submit} disabled={run.isPending}>
          {run.isPending ? "Testing…" : "Test step"}
        </button>
        {savePins && <button type="button" className="btn btn-ghost btn-sm" onClick={pinInput}>Pin this input</button>}
      </div>
      {run.error && (
        <p className="form-error" role="alert">
          {unavailable ? "This server cannot test single steps yet (no /step-types/<type>/try/ endpoint)." : run.error.message}
        </p>
      )}
      {result && (
        <div className="fp-test-result" aria-label="Test result">
          <div className="inline">
            <StatusBadge status={result.status === "would_start_children" ? "waiting" : result.status} />
            {result.status === "would_start_children" && <span className="small muted">would start child runs</span>}
            {result.duration_ms !== undefined && <span className="small muted">{Math.round(result.duration_ms)} ms</span>}
          </div>
          {result.error && <pre className="fp-test-error">{result.error}</pre>}
          {result.error && <ErrorDetails details={result.error_details} />}
          {result.traceback && (
            <details><summary>Traceback</summary><pre className="fp-pre">{result.traceback}</pre></details>
          )}
          {result.output !== undefined && result.output !== null && (
            <div>
              <h4>Output</h4><pre className="fp-pre">{pretty(result.output)}</pre>
              {savePins && result.status === "completed" && (
                <button type="button" className="btn btn-ghost btn-sm" onClick={() => void pin("output", result.output)}>Pin this output</button>
              )}
            </div>
          )}
          {result.rendered_config !== undefined && (
            <details><summary>Rendered config</summary><pre className="fp-pre">{pretty(result.rendered_config)}</pre></details>
          )}
          {!!result.logs?.length && (
            <div>
              <h4>Logs</h4>
              <ul className="fp-test-logs">
                {result.logs.map((line, i) => (
                  <li key={i}>
                    <span className={`fp-log-level fp-log-${line.level}`}>{line.level}</span> {line.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
