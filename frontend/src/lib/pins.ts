/** Pinned data, pure: what a run recorded as pins, what "Test this step" sends as the upstream
 * outputs, the run-only overrides a fixed config makes, and the Run dialog's last input per workflow. */
import type { ExecutionDetail, PinnedData, StepDefinition } from "./types";

export const NO_PINS: PinnedData = { input: {}, steps: {}, source_execution: null };

/** A run's data as pins: its input, and each step's current attempt (the server marks it `is_latest`):
 * its input, and its output when it completed (a failed step is pinned with its input only). */
export function pinsFromExecution(execution: ExecutionDetail): PinnedData {
  const steps: PinnedData["steps"] = {};
  for (const task of execution.task_executions) {
    if (!task.is_latest || (task.status !== "completed" && task.status !== "failed")) continue;
    steps[task.step_key] = task.status === "completed"
      ? { input: task.input_data, output: task.output_data }
      : { input: task.input_data };
  }
  return { input: (execution.input_data ?? {}) as Record<string, unknown>, steps, source_execution: execution.id };
}

export const hasOutput = (pins: PinnedData | null | undefined, key: string): boolean =>
  !!pins?.steps[key] && "output" in pins.steps[key];

/** The steps (of `stepKeys`) a test run with pinned data answers from their pinned output; the server
 * decides the same at the run's start (a pin of a step the version no longer has is left out). */
export const pinnedOutputKeys = (pins: PinnedData | null | undefined, stepKeys: string[]): string[] =>
  stepKeys.filter((key) => hasOutput(pins, key));

/** What Test sends as `steps`: each upstream step's pinned output, else `placeholder(key)`. */
export function upstreamOutputs(pins: PinnedData | null | undefined, upstream: string[],
                                placeholder: (key: string) => unknown): Record<string, { output: unknown }> {
  return Object.fromEntries(upstream.map((key) => [key, { output: hasOutput(pins, key) ? pins!.steps[key].output : placeholder(key) }]));
}

/** A short one-line look at a value, for the node. */
export function preview(value: unknown, max = 48): string {
  const text = JSON.stringify(value) ?? "null";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});

/** POST executions/<id>/retry/'s `overrides`: the config of every step of the run that the designer
 * changed, and the input when the pinned input differs from the run's. Null when nothing changed. */
export function resumeOverrides(run: { steps: StepDefinition[]; input: unknown },
                                edited: { steps: StepDefinition[]; input: unknown }) {
  const before = new Map(run.steps.map((s) => [s.key, s.config]));
  const steps: Record<string, { config: Record<string, unknown> }> = {};
  for (const step of edited.steps) {
    if (before.has(step.key) && !same(before.get(step.key), step.config)) steps[step.key] = { config: step.config ?? {} };
  }
  const overrides: { input?: Record<string, unknown>; steps?: typeof steps } = {};
  if (Object.keys(steps).length) overrides.steps = steps;
  if (!same(run.input, edited.input)) overrides.input = (edited.input ?? {}) as Record<string, unknown>;
  return Object.keys(overrides).length ? overrides : null;
}

const runInputKey = (workflowId: string) => `flowpilot:last-run-input:${workflowId}`;

/** The input the Run dialog last started this workflow with, in this browser (null if none). */
export function lastRunInput(workflowId: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(localStorage.getItem(runInputKey(workflowId)) ?? "null");
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

export function rememberRunInput(workflowId: string, input: Record<string, unknown>): void {
  try {
    localStorage.setItem(runInputKey(workflowId), JSON.stringify(input));
  } catch {
    // Full or refused storage: the dialog falls back to the pinned or sample input.
  }
}
