/** Small shared pieces of the interface: empty, loading and error states, status badges. */
import type { ReactNode } from "react";

import { ApiError } from "@/lib/api";

export function Spinner({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  return (
    <div className="state state-error" role="alert">
      <strong>Something went wrong</strong>
      <span>{message}</span>
      {onRetry && (
        <button type="button" className="btn" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children && <span>{children}</span>}
      {action}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}

/** "completed · 2 handled failures": a run whose failed steps were handled (a failure path taken, or
 * continue on failure); empty when none was. */
export function handledFailuresLabel(run: { status: string; handled_failures?: string[] }): string {
  const count = run.handled_failures?.length ?? 0;
  if (!count) return "";
  const what = `${count} handled failure${count > 1 ? "s" : ""}`;
  return run.status === "completed" ? `completed · ${what}` : what;
}

/** The badge beside a run's status when some of its failures were handled, naming the steps. */
export function HandledFailures({ execution }: { execution: { status: string; handled_failures?: string[] } }) {
  const label = handledFailuresLabel(execution);
  if (!label) return null;
  return (
    <span className="badge fp-handled" data-testid="handled-failures"
          title={`Failed, handled (failure path or continue on failure): ${execution.handled_failures!.join(", ")}`}>
      {label}
    </span>
  );
}

/** "3 s", "1 min 20 s", "2 h 5 min": a duration between two ISO times (or to now). */
export function formatDuration(start: string | null, end: string | null, now: number = Date.now()): string {
  if (!start) return "—";
  const ms = (end ? Date.parse(end) : now) - Date.parse(start);
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatTime(iso: string | null): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}
