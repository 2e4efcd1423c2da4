/** Completions for `{{ ... }}` in a step's text fields: `input.`, the outputs of every step upstream
 * (`steps.<key>.output.<field>`, from each step type's output_schema), the signed approve/reject
 * links of the workflow's approval steps (`approvals.<key>.approve_url`, for a message sent before
 * or beside them) and `secrets.<name>`. */
import { ancestors, type Ancestry } from "./graph";
import type { StepDefinition, StepType } from "./types";

export interface Suggestion {
  /** What is inserted after `{{ `. */
  value: string;
  /** A short note: the upstream step's name, the field's type... */
  detail: string;
}

/** Where the caret is inside an open `{{` (no `}}` between them): the typed query and where it starts. */
export function templateContext(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const open = before.lastIndexOf("{{");
  if (open < 0 || before.indexOf("}}", open) >= 0) return null;
  const typed = before.slice(open + 2);
  // Complete the last word being typed: "input.a" in "{{ input.a", "steps.x" in "{{ 1 + steps.x".
  const word = typed.match(/[A-Za-z0-9_.]*$/)![0];
  return { start: caret - word.length, query: word };
}

export function templateSuggestions(
  steps: Pick<StepDefinition, "key" | "name" | "task_type" | "depends_on">[],
  stepTypes: Record<string, StepType>,
  key: string,
  secrets: string[] = [],
  /** The graph's ancestry, when the caller keeps one (the designer, per graph): else walked here. */
  ancestry?: Ancestry,
): Suggestion[] {
  const out: Suggestion[] = [{ value: "input.", detail: "the run's input" }];
  const byKey = new Map(steps.map((step) => [step.key, step]));
  for (const upstream of ancestry ? ancestry.of(key) : ancestors(steps, key)) {
    const step = byKey.get(upstream)!;
    const type = stepTypes[step.task_type];
    const label = step.name || step.key;
    out.push({ value: `steps.${upstream}.output`, detail: `${label} (${step.task_type})` });
    for (const [field, schema] of Object.entries(type?.output_schema?.properties ?? {})) {
      const kind = typeof schema.type === "string" ? schema.type : schema.enum ? schema.enum.join(" | ") : "any";
      out.push({ value: `steps.${upstream}.output.${field}`, detail: `${label}: ${kind}` });
    }
  }
  for (const step of steps) {
    if (step.task_type !== "approval" || step.key === key) continue;
    const label = step.name || step.key;
    out.push({ value: `approvals.${step.key}.approve_url`, detail: `${label}: signed approve link` });
    out.push({ value: `approvals.${step.key}.reject_url`, detail: `${label}: signed reject link` });
  }
  if (secrets.length) for (const name of secrets) out.push({ value: `secrets.${name}`, detail: "credential" });
  else out.push({ value: "secrets.", detail: "a stored credential" });
  return out;
}

/** Suggestions that continue `query` (case-insensitive), those that start with it first. */
export function filterSuggestions(list: Suggestion[], query: string, limit = 12): Suggestion[] {
  const q = query.toLowerCase();
  if (!q) return list.slice(0, limit);
  const starts = list.filter((s) => s.value.toLowerCase().startsWith(q) && s.value.toLowerCase() !== q);
  const contains = list.filter((s) => !s.value.toLowerCase().startsWith(q) && s.value.toLowerCase().includes(q));
  return [...starts, ...contains].slice(0, limit);
}

/** The text with the query replaced by the suggestion (and `}}` added if the template is not
 * closed yet), and the caret after the insertion. */
export function applySuggestion(
  text: string,
  context: { start: number; query: string },
  suggestion: string,
): { text: string; caret: number } {
  const end = context.start + context.query.length;
  const rest = text.slice(end);
  const lead = text.slice(0, context.start).endsWith("{{") ? " " : "";
  const closes = /^[^{]*\}\}/.test(rest);
  const tail = suggestion.endsWith(".") || closes ? "" : " }}";
  const inserted = `${lead}${suggestion}${tail}`;
  return { text: text.slice(0, context.start) + inserted + rest, caret: context.start + lead.length + suggestion.length + tail.length };
}
