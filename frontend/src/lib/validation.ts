/** The designer's checks before saving, mirroring the server's: keys, step types, configs against
 * their JSON Schemas (a template string passes any type check, as on the server at save time),
 * template syntax, dependencies and cycles. Problems are per step, each naming its field
 * ("key", "config.url", "when", "depends_on"...). Also: mapping a server 400 onto the steps. */
import { findCycle, parseRef } from "./graph";
import { isPlainObject, joinPath, jsonType, schemaTypes } from "./schema-form";
import { isTemplate, templateErrors, templateSyntaxError } from "./templates";
import type { JsonSchema, Limits, StepDefinition, StepType } from "./types";

export interface Issue {
  field: string;
  message: string;
}

export type IssueMap = Record<string, Issue[]>;

export const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const KEY_HELP = "use letters, digits and underscores, starting with a letter or underscore";

const typeMatches = (expected: string, actual: string) =>
  expected === actual || (expected === "number" && actual === "integer");

/** Problems of `value` against `schema` (the basics: type, enum, required, lengths, ranges,
 * pattern, items, properties, closed objects, a oneOf of required groups). */
export function checkSchema(schema: JsonSchema | undefined, value: unknown, path: string): Issue[] {
  if (!schema || value === undefined || isTemplate(value)) return [];
  const issues: Issue[] = [];
  const add = (message: string, at = path) => issues.push({ field: at, message });
  const types = schemaTypes(schema).filter((t) => t !== "null" || value === null);
  const actual = jsonType(value);
  if (types.length && !types.some((t) => typeMatches(t, actual)) && !(value === null && schemaTypes(schema).includes("null"))) {
    add(`must be ${types.map((t) => (t === "integer" ? "an integer" : t === "object" || t === "array" ? `an ${t}` : `a ${t}`)).join(" or ")}`);
    return issues;
  }
  if (schema.enum && !schema.enum.some((option) => option === value)) {
    add(`must be one of: ${schema.enum.map(String).join(", ")}`);
  }
  if (typeof value === "string") {
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      add(schema.minLength === 1 ? "must not be empty" : `must have at least ${schema.minLength} characters`);
    }
    if (schema.maxLength !== undefined && value.length > schema.maxLength) add(`must have at most ${schema.maxLength} characters`);
    if (schema.pattern && value) {
      try {
        if (!new RegExp(schema.pattern, "u").test(value)) add(`does not match ${schema.pattern}`);
      } catch {
        /* a pattern JavaScript cannot read: the server checks it */
      }
    }
  }
  if (typeof value === "number") {
    if (schema.type === "integer" && !Number.isInteger(value)) add("must be an integer");
    if (schema.minimum !== undefined && value < schema.minimum) add(`must be at least ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) add(`must be at most ${schema.maximum}`);
    const exclusive = schema.exclusiveMinimum;
    if (typeof exclusive === "number" && value <= exclusive) add(`must be more than ${exclusive}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      add(schema.minItems === 1 ? "must not be empty" : `must have at least ${schema.minItems} items`);
    }
    value.forEach((item, i) => issues.push(...checkSchema(schema.items, item, joinPath(path, i))));
  }
  if (isPlainObject(value)) {
    for (const name of schema.required ?? []) {
      if (value[name] === undefined) add("is required", joinPath(path, name));
    }
    for (const [name, item] of Object.entries(value)) {
      const property = schema.properties?.[name];
      if (property) issues.push(...checkSchema(property, item, joinPath(path, name)));
      else if (schema.additionalProperties === false) add("is not a field of this step type", joinPath(path, name));
      else if (isPlainObject(schema.additionalProperties)) {
        issues.push(...checkSchema(schema.additionalProperties, item, joinPath(path, name)));
      }
    }
    const groups = (schema.oneOf ?? []).map((option) => option.required);
    if (groups.length && groups.every((group) => Array.isArray(group) && group.length)) {
      const met = groups.filter((group) => group!.every((name) => value[name] !== undefined));
      const names = groups.map((group) => group!.join(" + ")).join(" or ");
      if (met.length === 0) add(`needs one of: ${names}`);
      else if (met.length > 1) add(`takes only one of: ${names}`);
    }
  }
  return issues;
}

/** The branches a step of this type and config can take (a conditional's cases name its own). */
export function stepBranches(stepType: StepType | undefined, config: Record<string, unknown>): string[] | null {
  if (!stepType?.branches) return null;
  if (stepType.config_schema.properties?.cases && Array.isArray(config.cases) && config.cases.length) {
    const names = config.cases
      .map((c) => (isPlainObject(c) && typeof c.branch === "string" ? c.branch : ""))
      .filter(Boolean);
    return [...new Set([...names, typeof config.default === "string" && config.default ? config.default : "default"])];
  }
  return stepType.branches;
}

/** A step's numbers, each checked against the server's bound of the same name (GET /api/v1/limits/). */
const BOUNDED_FIELDS = ["timeout_seconds", "max_retries", "retry_base_delay", "retry_backoff_factor",
  "retry_max_delay"] as const;

function checkRange(step: StepDefinition, field: keyof StepDefinition, limits: Limits, out: Issue[]) {
  const value = step[field];
  if (value === null || value === undefined) return;
  const bound = limits[field];
  if (typeof value !== "number" || Number.isNaN(value)) out.push({ field, message: "must be a number" });
  else if (bound && value < bound.min) out.push({ field, message: `must be at least ${bound.min}` });
  else if (bound && value > bound.max) out.push({ field, message: `must be at most ${bound.max}` });
}

/** Every problem of every step, by step key; steps without problems are absent. */
export function validateSteps(steps: StepDefinition[], stepTypes: Record<string, StepType>,
  limits: Limits = {}): IssueMap {
  const out: IssueMap = {};
  const add = (key: string, issue: Issue) => (out[key] ??= []).push(issue);
  const counts = new Map<string, number>();
  for (const step of steps) counts.set(step.key, (counts.get(step.key) ?? 0) + 1);
  const byKey = new Map(steps.map((step) => [step.key, step]));
  const typesKnown = Object.keys(stepTypes).length > 0;

  for (const step of steps) {
    const issues: Issue[] = [];
    if (!KEY_PATTERN.test(step.key)) issues.push({ field: "key", message: KEY_HELP });
    else if ((counts.get(step.key) ?? 0) > 1) issues.push({ field: "key", message: "is used by more than one step" });

    const type = stepTypes[step.task_type];
    if (typesKnown && !type) issues.push({ field: "task_type", message: `unknown step type "${step.task_type}"` });

    const syntax = templateErrors(step.config ?? {}).map(({ path, message }) => ({
      field: joinPath("config", path), message,
    }));
    issues.push(...syntax);
    if (type) {
      const seen = new Set(syntax.map((issue) => issue.field));
      issues.push(...checkSchema(type.config_schema, step.config ?? {}, "config").filter((i) => !seen.has(i.field)));
    }
    if (step.when) {
      const error = templateSyntaxError(step.when);
      if (error) issues.push({ field: "when", message: error });
    }
    for (const field of BOUNDED_FIELDS) checkRange(step, field, limits, issues);

    for (const ref of step.depends_on ?? []) {
      const { key, branch } = parseRef(ref);
      const upstream = byKey.get(key);
      if (key === step.key) issues.push({ field: "depends_on", message: "a step cannot depend on itself" });
      else if (!upstream) issues.push({ field: "depends_on", message: `depends on unknown step "${key}"` });
      else if (branch !== undefined) {
        const branches = stepBranches(stepTypes[upstream.task_type], upstream.config ?? {});
        if (branches && !branches.includes(branch)) {
          issues.push({ field: "depends_on", message: `"${key}" has no branch "${branch}" (its branches: ${branches.join(", ")})` });
        } else if (!branches && stepTypes[upstream.task_type]) {
          issues.push({ field: "depends_on", message: `"${key}" has no branches to choose from` });
        }
      }
    }
    for (const issue of issues) add(step.key, issue);
  }

  const cycle = findCycle(steps);
  if (cycle) {
    const message = `is part of a cycle: ${cycle.join(" → ")}`;
    for (const key of new Set(cycle)) add(key, { field: "depends_on", message });
  }
  return out;
}

export function issueCount(issues: IssueMap): number {
  return Object.values(issues).reduce((sum, list) => sum + list.length, 0);
}

/** A server 400's fields ({"steps.<key>.config.url": [...]}, or DRF's "steps[3].key") mapped onto
 * the steps that were sent; what names no step stays general. */
export function serverIssues(
  fields: Record<string, unknown>,
  sent: Pick<StepDefinition, "key">[],
): { byStep: IssueMap; general: string[] } {
  const byStep: IssueMap = {};
  const general: string[] = [];
  const keys = new Set(sent.map((step) => step.key));
  for (const [path, raw] of Object.entries(fields)) {
    const messages = (Array.isArray(raw) ? raw : [raw]).map(String);
    let key: string | undefined;
    let field = "";
    const indexed = path.match(/^steps\[(\d+)\]\.?(.*)$/);
    const named = path.match(/^steps\.([A-Za-z_][A-Za-z0-9_]*)\.?(.*)$/);
    if (indexed) {
      key = sent[Number(indexed[1])]?.key;
      field = indexed[2];
    } else if (named && keys.has(named[1])) {
      key = named[1];
      field = named[2];
    }
    if (key !== undefined) {
      for (const message of messages) (byStep[key] ??= []).push({ field: field || "step", message });
    } else {
      general.push(...messages.map((message) => (path ? `${path}: ${message}` : message)));
    }
  }
  return { byStep, general };
}

/** The issues of one field, or of the fields under it ("config.auth" has those of "config.auth.type"). */
export function issuesAt(issues: Issue[] | undefined, field: string, nested = false): Issue[] {
  if (!issues) return [];
  return issues.filter((issue) => issue.field === field ||
    (nested && (issue.field.startsWith(`${field}.`) || issue.field.startsWith(`${field}[`))));
}
