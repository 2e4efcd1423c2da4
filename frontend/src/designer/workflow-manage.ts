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
