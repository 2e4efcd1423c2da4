/** The KPI figures of the dashboard, from the per-workflow rows: counts add up; percentiles do not,
 * so across several workflows the headline p95 is the worst workflow's (and says so). Pure. */
import type { Figures } from "./types";

export interface Summary {
  runs: number;
  failures: number;
  failureRate: number | null;
  retries: number;
  p95Ms: number | null;
  /** The workflow whose p95 is shown when there are several; null for one workflow or none. */
  p95Of: string | null;
}

export function summarize(rows: Figures[], workflow = ""): Summary {
  const chosen = workflow ? rows.filter((row) => row.workflow_id === workflow) : rows;
  const runs = chosen.reduce((sum, row) => sum + row.runs, 0);
  const failures = chosen.reduce((sum, row) => sum + row.failures, 0);
  const retries = chosen.reduce((sum, row) => sum + row.retries, 0);
  const timed = chosen.filter((row) => row.p95_ms !== null);
  const worst = timed.reduce<Figures | null>((top, row) => (top === null || (row.p95_ms ?? 0) > (top.p95_ms ?? 0) ? row : top), null);
  return {
    runs,
    failures,
    failureRate: runs ? failures / runs : null,
    retries,
    p95Ms: worst?.p95_ms ?? null,
    p95Of: worst && timed.length > 1 ? worst.workflow_name : null,
  };
}
