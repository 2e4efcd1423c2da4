/** Managing a workflow (settings, duplicate, archive, delete, export, import): the form's pure
 * conversions and the API calls. The server checks every value (bounds, the concurrency key's
 * template) and answers the field errors; the form only turns text into JSON. */
import { useQuery } from "@tanstack/react-query";

import { api, type Page } from "@/lib/api";
import type { Workflow } from "@/lib/types";

export const SETTINGS_FIELDS = [
  "max_retries", "retry_base_delay", "retry_backoff_factor", "retry_max_delay", "max_concurrency",
] as const;
export type NumberField = (typeof SETTINGS_FIELDS)[number];

/** One search field as the form edits it: its name and its template. */
export interface SearchFieldRow {
  name: string;
  template: string;
}

export interface SettingsForm extends Record<NumberField, string> {
  description: string;
  /** The workflow started when a run fails for good; "" for the user's default. */
  error_workflow_id: string;
  concurrency_key: string;
  search_fields: SearchFieldRow[];
}

export function settingsForm(workflow: Workflow): SettingsForm {
  const text = (value: number | null | undefined) => (value === null || value === undefined ? "" : String(value));
  return {
    description: workflow.description ?? "",
    error_workflow_id: workflow.error_workflow_id ?? "",
    concurrency_key: workflow.concurrency_key ?? "",
    search_fields: Object.entries(workflow.search_fields ?? {}).map(([name, template]) => ({ name, template })),
    max_retries: text(workflow.max_retries),
    retry_base_delay: text(workflow.retry_base_delay),
    retry_backoff_factor: text(workflow.retry_backoff_factor),
    retry_max_delay: text(workflow.retry_max_delay),
    max_concurrency: text(workflow.max_concurrency),
  };
}

/** The PATCH body: an empty number field is null (the default); a number as a number; anything else
 * as typed, for the server to refuse with its message. */
export function settingsBody(form: SettingsForm): Record<string, string | number | null | Record<string, string>> {
  const body: Record<string, string | number | null | Record<string, string>> = {
    description: form.description, concurrency_key: form.concurrency_key.trim(),
    error_workflow_id: form.error_workflow_id || null,
    // A row left blank is dropped; any other is sent as typed, for the server to check (name, template).
    search_fields: Object.fromEntries(form.search_fields
      .filter((row) => row.name.trim() || row.template.trim())
      .map((row) => [row.name.trim(), row.template])),
  };
  for (const field of SETTINGS_FIELDS) {
    const value = form[field].trim();
    body[field] = value === "" ? null : Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return body;
}

/** A workflow's `limits` (flow control) as the settings' Limits section edits it: every value as text. */
export interface LimitsForm {
  concurrency: { key: string; max: string; name: string };
  rate: { key: string; limit: string; per_seconds: string; burst: string; name: string };
  debounce: { key: string; seconds: string };
  priority: string;
}

type LimitsPart = "concurrency" | "rate" | "debounce";
const LIMIT_NUMBERS: Record<LimitsPart, string[]> = {
  concurrency: ["max"], rate: ["limit", "per_seconds", "burst"], debounce: ["seconds"],
};

export function limitsForm(workflow: Workflow): LimitsForm {
  const stored = (workflow.limits ?? {}) as Record<string, unknown>;
  const part = (name: LimitsPart) => (stored[name] && typeof stored[name] === "object" ? stored[name] : {}) as
    Record<string, unknown>;
  const text = (value: unknown) => (value === null || value === undefined ? "" : String(value));
  const concurrency = part("concurrency");
  const rate = part("rate");
  const debounce = part("debounce");
  return {
    concurrency: { key: text(concurrency.key), max: text(concurrency.max), name: text(concurrency.name) },
    rate: { key: text(rate.key), limit: text(rate.limit), per_seconds: text(rate.per_seconds), burst: text(rate.burst),
            name: text(rate.name) },
    debounce: { key: text(debounce.key), seconds: text(debounce.seconds) },
    priority: text(stored.priority),
  };
}

/** The `limits` the PATCH sends: a part with every field blank is left out (no such limit); a blank field
 * is left out of its part (the server's default, or its "is required"); a number as a number; anything
 * else as typed, for the server to refuse with its message (limits.rate.limit: ...). */
export function limitsBody(form: LimitsForm): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const name of ["concurrency", "rate", "debounce"] as LimitsPart[]) {
    const part: Record<string, string | number> = {};
    for (const [field, raw] of Object.entries(form[name])) {
      const value = (raw as string).trim();
      if (value === "") continue;
      part[field] = LIMIT_NUMBERS[name].includes(field) && Number.isFinite(Number(value)) ? Number(value) : value;
    }
    if (Object.keys(part).length) body[name] = part;
  }
  if (form.priority.trim()) body.priority = form.priority.trim();
  return body;
}

/** "New user signup" -> "new-user-signup.json", as the server's Content-Disposition names it. */
export function exportFileName(name: string): string {
  const slug = name.normalize("NFKD").replace(/[^\w\s-]/g, "").trim().toLowerCase().replace(/[-\s]+/g, "-");
  return `${slug || "workflow"}.json`;
}

/** A chosen file's text as a document; an Error saying why when it is no JSON (the server checks the rest). */
export function parseImportFile(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`The file is not JSON: ${(error as Error).message}`);
  }
}

/** Workflows a picker offers as an error workflow: the user's active ones (the server checks the choice). */
export function useErrorWorkflowOptions(exceptId: string) {
  return useQuery({
    queryKey: ["workflows", "error-workflow-options"],
    queryFn: () => api.get<Page<Workflow> | Workflow[]>("workflows/", { limit: 200 }),
    staleTime: 30_000,
    select: (data) => (Array.isArray(data) ? data : data.results)
      .filter((workflow) => workflow.status === "active" && workflow.id !== exceptId)
      .map((workflow) => ({ id: workflow.id, name: workflow.name })),
  });
}

export const manage = {
  update: (id: string, body: Record<string, unknown>) => api.patch<Workflow>(`workflows/${id}/`, body),
  duplicate: (id: string) => api.post<Workflow>(`workflows/${id}/duplicate/`, {}),
  archive: (id: string) => api.post<Workflow>(`workflows/${id}/archive/`),
  unarchive: (id: string) => api.post<Workflow>(`workflows/${id}/unarchive/`),
  /** Pause every run of the workflow (and start its new runs paused), or undo it: answers how many runs moved. */
  pause: (id: string, action: "pause" | "unpause") => api.post<{ count: number }>(`workflows/${id}/${action}/`),
  remove: (id: string) => api.delete(`workflows/${id}/`),
  exportDocument: (id: string) => api.get<unknown>(`workflows/${id}/export/`),
  /** A new workflow from the document, or with `replace` that workflow's definition replaced. */
  importDocument: (document: unknown, replace?: string) =>
    api.post<Workflow>(replace ? `workflows/import/?replace=${encodeURIComponent(replace)}` : "workflows/import/", document),
};

/** Save `document` as a file named `filename` (the browser's download). */
export function downloadJson(document_: unknown, filename: string): void {
  const blob = new Blob([JSON.stringify(document_, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
