/** Edit and resume (a retry with `overrides`): what the dialog starts from and what it sends. The
 * server checks the overrides (the step type's schema, the run's steps) and says what it refuses;
 * this only reads the run's current values and keeps what the user changed. */
import type { ExecutionDetail, VersionStep } from "@/lib/types";

export type JsonObject = Record<string, unknown>;
export interface Overrides { input?: JsonObject; steps?: Record<string, { config: JsonObject }> }

/** The steps whose current attempt failed or was cancelled: the ones a retry runs again. */
export function stepsToFix(execution: ExecutionDetail): string[] {
  return [...new Set(execution.task_executions
    .filter((row) => row.is_latest && (row.status === "failed" || row.status === "cancelled"))
    .map((row) => row.step_key))];
}

/** The input the run's steps see now: an earlier override's, else the run's own. */
export function currentInput(execution: ExecutionDetail): JsonObject {
  return (execution.overrides?.input as JsonObject | undefined) ?? (execution.input_data as JsonObject | null) ?? {};
}

/** The config a step runs with in this run: an earlier override's, else its version's. */
export function currentConfig(execution: ExecutionDetail, key: string, step: VersionStep | undefined): JsonObject {
  return execution.overrides?.steps?.[key]?.config ?? (step?.config as JsonObject | undefined) ?? {};
}

/** A JSON object from the text, or why not. */
export function parseObject(text: string): { value: JsonObject } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `not JSON: ${(error as Error).message}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { error: "must be a JSON object" };
  return { value: value as JsonObject };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The overrides of what changed (input, configs by step key), or the first text that is not a JSON object. */
export function buildOverrides(
  execution: ExecutionDetail, steps: VersionStep[], inputText: string, configTexts: Record<string, string>,
): { overrides: Overrides } | { error: string } {
  const overrides: Overrides = {};
  const input = parseObject(inputText);
  if ("error" in input) return { error: `Input: ${input.error}` };
  if (!same(input.value, currentInput(execution))) overrides.input = input.value;
  for (const [key, text] of Object.entries(configTexts)) {
    const config = parseObject(text);
    if ("error" in config) return { error: `Config of ${key}: ${config.error}` };
    if (!same(config.value, currentConfig(execution, key, steps.find((step) => step.key === key)))) {
      overrides.steps = { ...overrides.steps, [key]: { config: config.value } };
    }
  }
  return { overrides };
}
