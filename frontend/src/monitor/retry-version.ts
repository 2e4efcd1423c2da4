/** The retry dialog's version choice, from what the server answers: the run's `workflow_version` and
 * `retry_latest` (the workflow's newer version and why it cannot take the run over, if it cannot). */
import type { ExecutionDetail } from "@/lib/types";

export type RetryVersion = "original" | "latest";

export interface RetryChoice {
  value: RetryVersion;
  label: string;
  /** Why this choice is refused (the server's reasons); null when it is allowed. */
  refused: string | null;
  /** What else happens with it: steps added or removed by the newer version. */
  note: string | null;
}

type RetryFacts = Pick<ExecutionDetail, "workflow_version" | "retry_latest">;

/** The choices to offer: none (an empty list) when the run is on its workflow's latest version. */
export function retryChoices(execution: RetryFacts): RetryChoice[] {
  const latest = execution.retry_latest;
  if (!latest) return [];
  const changes = [
    latest.added.length ? `adds ${latest.added.join(", ")} (will run)` : "",
    latest.removed.length ? `drops ${latest.removed.join(", ")} (kept in the history, not run)` : "",
  ].filter(Boolean);
  return [
    { value: "original", label: `Retry on v${execution.workflow_version} (the run's version)`, refused: null, note: null },
    {
      value: "latest",
      label: `Retry on the latest version (v${latest.version})`,
      refused: latest.problems.length ? latest.problems.join("; ") : null,
      note: changes.length ? `v${latest.version} ${changes.join("; ")}.` : null,
    },
  ];
}

/** The choice selected when the dialog opens: the latest version when it can take the run over
 * (a retry after a fix should use the fix), else the run's own. */
export function defaultRetryVersion(execution: RetryFacts): RetryVersion {
  const latest = retryChoices(execution).find((choice) => choice.value === "latest");
  return latest && !latest.refused ? "latest" : "original";
}

/** The bulk dialog's sentence about versions, from a dry run's `outdated` count. */
export function outdatedNote(outdated: number, count: number): string | null {
  if (!outdated) return null;
  return outdated === count
    ? `${count === 1 ? "This run is" : `All ${count} runs are`} on an older version than their workflow's latest.`
    : `${outdated} of these ${count} runs are on an older version than their workflow's latest.`;
}
