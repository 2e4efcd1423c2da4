/** Bulk rerun from a step (POST /api/v1/executions/rerun/), pure: which runs of a page can be selected
 * for it (the server's allowed_actions say), the step keys a selection has in common, and whether the
 * list's filters map onto the API's (workflow_id, status) for "rerun all matching". */
import type { Execution } from "@/lib/types";

import type { ListFilters } from "./list-filters";

const FINISHED = ["completed", "failed", "cancelled"] as const;

export const canRerun = (execution: Pick<Execution, "allowed_actions">): boolean =>
  execution.allowed_actions.includes("rerun");

/** The keys every list has (in the first list's order): the steps a selection spanning several
 * versions or workflows can all be rerun from. */
export function commonStepKeys(lists: string[][]): string[] {
  if (!lists.length) return [];
  const [first, ...rest] = lists;
  const others = rest.map((keys) => new Set(keys));
  return first.filter((key) => others.every((keys) => keys.has(key)));
}

/** The API's filters for the list's, or why they do not map: the API selects finished runs by one
 * workflow and at most one status; the list's trigger, dates and search have no counterpart there. */
export function rerunFilters(filters: ListFilters): { body: { workflow_id: string; status?: string } } | { reason: string } {
  if (!filters.workflow) return { reason: "Filter by one workflow to rerun all its matching runs." };
  if (filters.trigger || filters.from || filters.to || filters.searchName || filters.searchValue) {
    return { reason: "Only the workflow and status filters can select runs to rerun; clear the others." };
  }
  if (filters.status.length > 1 || filters.status.some((s) => !(FINISHED as readonly string[]).includes(s))) {
    return { reason: "Choose one status of a finished run (completed, failed or cancelled), or none." };
  }
  return { body: { workflow_id: filters.workflow, ...(filters.status.length ? { status: filters.status[0] } : {}) } };
}

/** The toast after a bulk rerun. */
export function rerunSummary(rerun: number, refused: Record<string, string>): string {
  const reasons = Object.values(refused);
  const done = `Rerun ${rerun} execution${rerun === 1 ? "" : "s"}`;
  return reasons.length ? `${done}; ${reasons.length} refused: ${reasons[0]}` : `${done}.`;
}
