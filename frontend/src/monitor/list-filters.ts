/** The executions list's filters, kept in the URL query so a filtered view can be shared and
 * survives a reload; and the API query they stand for. Pure. */
import { EXECUTION_STATUSES, type ExecutionStatus, type TriggerSource } from "@/lib/types";

export const TRIGGERS: TriggerSource[] = ["api", "manual", "webhook", "schedule", "event", "python", "workflow"];
export const PAGE_SIZE = 25;

export interface ListFilters {
  status: ExecutionStatus[];
  workflow: string;
  trigger: TriggerSource | "";
  /** Local dates, YYYY-MM-DD, both inclusive. */
  from: string;
  to: string;
  /** A search field and its value (?search.<name>=<value>, an exact match): both, or neither. */
  searchName: string;
  searchValue: string;
  page: number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
export const SEARCH_PREFIX = "search.";

/** Every filter at its default: the whole list. */
export const NO_FILTERS: ListFilters = {
  status: [], workflow: "", trigger: "", from: "", to: "", searchName: "", searchValue: "", page: 1,
};

/** The first search.<name>=<value> of the URL (the filter bar sets one). */
function searchOf(params: URLSearchParams): { searchName: string; searchValue: string } {
  for (const [key, value] of params) {
    if (key.startsWith(SEARCH_PREFIX) && key.length > SEARCH_PREFIX.length && value) {
      return { searchName: key.slice(SEARCH_PREFIX.length), searchValue: value };
    }
  }
  return { searchName: "", searchValue: "" };
}

export function parseFilters(params: URLSearchParams): ListFilters {
  const status = params.getAll("status").filter((value): value is ExecutionStatus =>
    (EXECUTION_STATUSES as string[]).includes(value));
  const trigger = params.get("trigger") ?? "";
  const page = Number.parseInt(params.get("page") ?? "1", 10);
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  return {
    status: [...new Set(status)],
    workflow: params.get("workflow") ?? "",
    trigger: (TRIGGERS as string[]).includes(trigger) ? (trigger as TriggerSource) : "",
    from: DATE.test(from) ? from : "",
    to: DATE.test(to) ? to : "",
    ...searchOf(params),
    page: Number.isFinite(page) && page > 0 ? page : 1,
  };
}

function hasSearch(filters: ListFilters): boolean {
  return Boolean(filters.searchName && filters.searchValue);
}

/** The URL query for `filters`, leaving out what is at its default. */
export function filtersToParams(filters: ListFilters): URLSearchParams {
  const params = new URLSearchParams();
  filters.status.forEach((status) => params.append("status", status));
  if (filters.workflow) params.set("workflow", filters.workflow);
  if (filters.trigger) params.set("trigger", filters.trigger);
  if (filters.from) params.set("from", filters.from);
  if (filters.to) params.set("to", filters.to);
  if (hasSearch(filters)) params.set(SEARCH_PREFIX + filters.searchName, filters.searchValue);
  if (filters.page > 1) params.set("page", String(filters.page));
  return params;
}

/** Local midnight of a YYYY-MM-DD date, `days` later, as an ISO instant. */
function localMidnight(date: string, days = 0): string {
  const [year, month, day] = date.split("-").map(Number);
  return new Date(year, month - 1, day + days).toISOString();
}

/** The GET executions/ query: dates become instants (the end date counts whole). */
export function filtersToQuery(filters: ListFilters, pageSize = PAGE_SIZE): Record<string, string | number | string[]> {
  const query: Record<string, string | number | string[]> = { limit: pageSize, offset: (filters.page - 1) * pageSize };
  if (filters.status.length) query.status = filters.status;
  if (filters.workflow) query.workflow = filters.workflow;
  if (filters.trigger) query.triggered_by = filters.trigger;
  if (filters.from) query.created_after = localMidnight(filters.from);
  if (filters.to) query.created_before = localMidnight(filters.to, 1);
  if (hasSearch(filters)) query[SEARCH_PREFIX + filters.searchName] = filters.searchValue;
  return query;
}

export function isFiltered(filters: ListFilters): boolean {
  return Boolean(filters.status.length || filters.workflow || filters.trigger || filters.from || filters.to
    || hasSearch(filters));
}

export function pageCount(count: number, pageSize = PAGE_SIZE): number {
  return Math.max(1, Math.ceil(count / pageSize));
}
