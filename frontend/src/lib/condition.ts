/** The pure half of the condition builder (designer/ConditionBuilder.tsx): a structured condition,
 * `{"field": "customer.plan", "operator": "eq", "value": "pro"}`, as the step type's JSON Schema
 * describes it. The operators, and which of them take a value, are read from that schema (GET
 * /api/v1/step-types/, workflows/conditions.py's SCHEMA): nothing about them is written here twice.
 * Whether a condition is valid is the server's to say (POST /api/v1/workflows/validate/). */
import type { JsonSchema } from "./types";

export type Condition = Record<string, unknown>;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Whether a schema describes a structured condition: an object with a field and an enum of operators. */
export function isConditionSchema(schema: JsonSchema | undefined): boolean {
  const properties = schema?.properties;
  return !!properties?.field && Array.isArray(properties.operator?.enum) && properties.operator.enum.length > 0;
}

/** The operators the server accepts, in its order. */
export function operatorsOf(schema: JsonSchema): string[] {
  return (schema.properties?.operator?.enum ?? []).map(String);
}

function ifOperators(rule: JsonSchema): unknown[] | null {
  const operator = (rule.if as JsonSchema | undefined)?.properties?.operator;
  if (!operator) return null;
  if (Array.isArray(operator.enum)) return operator.enum;
  return "const" in operator ? [operator.const] : null;
}

/** Whether `operator` takes a value: the schema's `allOf` rules "if operator is one of ..., then value
 * is required" say which do (exists does not). A schema without such rules: every operator does. */
export function takesValue(schema: JsonSchema, operator: string | undefined): boolean {
  const rules = (Array.isArray(schema.allOf) ? schema.allOf : []) as JsonSchema[];
  const requiring = rules.filter((rule) => ((rule.then as JsonSchema | undefined)?.required ?? []).includes("value"));
  if (!requiring.length || !operator) return true;
  return requiring.some((rule) => ifOperators(rule)?.includes(operator));
}

/** The text shown for a value: a string as it is (unless it would read as another JSON value, or
 * as none: "100" shows as "\"100\"", the empty string as ""), anything else as JSON.
 * parseValue(valueText(v)) is v. */
export function valueText(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") {
    if (value === "") return '""'; // an empty text means no value
    try {
      JSON.parse(value);
    } catch {
      return value;
    }
    return JSON.stringify(value);
  }
  return JSON.stringify(value);
}

/** The value typed: JSON when it parses (100, true, ["a", "b"], "100"), else the text as a string
 * (pro); nothing for an empty text. */
export function parseValue(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `condition` with `name` set (or removed, for undefined or ""); an operator that takes no value
 * drops the value. Nothing left: undefined, so an empty builder leaves the config without it. */
export function conditionWith(schema: JsonSchema, condition: unknown, name: "field" | "operator" | "value",
                              value: unknown): Condition | undefined {
  const next: Condition = { ...(isPlainObject(condition) ? condition : {}) };
  if (value === undefined || (name !== "value" && value === "")) delete next[name];
  else next[name] = value;
  if (name === "operator" && typeof value === "string" && !takesValue(schema, value)) delete next.value;
  return Object.keys(next).length ? next : undefined;
}

const MAX_SUGGESTIONS = 100;
const MAX_DEPTH = 6;

/** The dotted paths of a sample of the run's input (customer.plan, items.0.sku), objects' own
 * paths included, at most MAX_SUGGESTIONS of them. */
export function samplePaths(sample: unknown, limit = MAX_SUGGESTIONS): string[] {
  const out: string[] = [];
  const visit = (value: unknown, prefix: string, depth: number) => {
    if (out.length >= limit || depth > MAX_DEPTH) return;
    const entries = Array.isArray(value) ? value.slice(0, 3).map((v, i) => [String(i), v] as const)
      : isPlainObject(value) ? Object.entries(value) : [];
    for (const [key, child] of entries) {
      if (out.length >= limit) return;
      const path = prefix ? `${prefix}.${key}` : key;
      out.push(path);
      visit(child, path, depth + 1);
    }
  };
  visit(sample, "", 0);
  return out;
}

/** What the builder's field offers: the sample input's paths, then upstream steps' outputs
 * (`steps.<key>.output.<field>`, from the completions templates offer). */
export function fieldSuggestions(sample: unknown, hints: { value: string }[] = []): string[] {
  const upstream = hints.map((h) => h.value).filter((v) => v.startsWith("steps.") && !v.endsWith("."));
  return [...new Set([...samplePaths(sample), ...upstream])].slice(0, MAX_SUGGESTIONS);
}
