/** The server's verdict on a workflow, shown on the steps: the designer keeps no copy of the save's
 * rules (keys, step types, configs against their schemas, templates, dependencies, branches, cycles,
 * retry bounds). It asks POST /api/v1/workflows/validate/ while the user edits
 * (hooks/use-server-validation.ts), and a save's 400 answers the same fields; both are mapped onto the
 * steps here. The step key's rule comes from GET /api/v1/limits/, for refusing a rename on the spot. */
import { isPlainObject } from "./schema-form";
import type { Limits, StepDefinition, StepType } from "./types";

export interface Issue {
  field: string;
  message: string;
  /** A warning (validate's "warnings": a step naming a credential that does not exist) does not
   * block a save; anything else is an error. */
  level?: "warning";
}

export const isWarning = (issue: Issue) => issue.level === "warning";

export type IssueMap = Record<string, Issue[]>;

/** What is wrong with `key` as a step key by the server's rule (GET /api/v1/limits/ "step_key"), or
 * null; null too while the rule is not known, and then the server's check answers. */
export function keyProblem(key: string, limits: Limits): string | null {
  const rule = limits.step_key;
  if (!rule) return null;
  const message = rule.message ?? "is not a valid step key";
  if (key.length < rule.min) return message;
  if (key.length > rule.max) return `at most ${rule.max} characters`;
  if (rule.pattern) {
    try {
      if (!new RegExp(rule.pattern, "u").test(key)) return message;
    } catch {
      return null; // a pattern JavaScript cannot read: the server checks it
    }
  }
  return null;
}

/** The branches a step of this type and config offers (a conditional's cases name its own): the
 * handles its node draws. Not a check: the server says whether a dependency's branch exists. */
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

/** The errors shown (what blocks a save); warnings are counted by warningCount. */
export function issueCount(issues: IssueMap): number {
  return Object.values(issues).reduce((sum, list) => sum + list.filter((i) => !isWarning(i)).length, 0);
}

export function warningCount(issues: IssueMap): number {
  return Object.values(issues).reduce((sum, list) => sum + list.filter(isWarning).length, 0);
}

/** The server's errors and warnings of one answer (validate, a save), by step: errors first. */
export function withWarnings(errors: IssueMap, warnings: IssueMap): IssueMap {
  const out: IssueMap = { ...errors };
  for (const [key, list] of Object.entries(warnings)) out[key] = [...(out[key] ?? []), ...list];
  return out;
}

/** The server's fields ({"steps.<key>.config.url": [...]}, or DRF's "steps[3].key"), from validate or a
 * save's 400, mapped onto the steps that were sent; what names no step stays general. `level`
 * "warning" for validate's (or a save's) warnings. */
export function serverIssues(
  fields: Record<string, unknown>,
  sent: Pick<StepDefinition, "key">[],
  level?: "warning",
): { byStep: IssueMap; general: string[] } {
  const byStep: IssueMap = {};
  const general: string[] = [];
  const keys = new Set(sent.map((step) => step.key));
  for (const [path, raw] of Object.entries(fields)) {
    const messages = (Array.isArray(raw) ? raw : [raw]).map(String);
    let key: string | undefined;
    let field = "";
    const indexed = path.match(/^steps\[(\d+)\]\.?(.*)$/);
    const named = path.match(/^steps\.([^.[]+)\.?(.*)$/);
    if (indexed) {
      key = sent[Number(indexed[1])]?.key;
      field = indexed[2];
    } else if (named && keys.has(named[1])) {
      key = named[1];
      field = named[2];
    }
    if (key !== undefined) {
      // The server names an array's item "config.list.1"; the step's form names it "config.list[1]".
      field = field.replace(/\.(\d+)(?=\.|\[|$)/g, "[$1]");
      for (const message of messages) {
        (byStep[key] ??= []).push(level ? { field: field || "step", message, level } : { field: field || "step", message });
      }
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
