/** The headline figures: runs, failure rate, p95 duration in the window; runs running and waiting now. */
import { formatCount, formatMs, formatRate } from "./format";
import type { Summary } from "./summary";
import type { RunningCounts } from "./types";

interface Props {
  summary: Summary | null;
  running: RunningCounts | null;
  windowLabel: string;
}

export function KpiCards({ summary, running, windowLabel }: Props) {
  const rate = summary?.failureRate ?? null;
  return (
    <div className="dash-kpis" role="group" aria-label="Key figures">
      <Kpi label="Runs" value={formatCount(summary?.runs)} note={`ended in the last ${windowLabel}`} testId="kpi-runs" />
      <Kpi label="Failure rate" value={formatRate(rate)}
           note={summary ? `${formatCount(summary.failures)} failed of ${formatCount(summary.runs)}` : ""}
           tone={rate === null ? undefined : rate >= 0.05 ? "bad" : "good"} testId="kpi-failure-rate" />
      <Kpi label="p95 duration" value={formatMs(summary?.p95Ms)}
           note={summary?.p95Of ? `slowest workflow: ${summary.p95Of}` : "of the runs that ended"} testId="kpi-p95" />
      <Kpi label="Running now" value={formatCount(running?.running)}
           note={running ? `${formatCount(running.pending)} pending to start` : ""} testId="kpi-running" />
      <Kpi label="Waiting now" value={formatCount(running?.waiting)}
           note="on a timer or a signal" testId="kpi-waiting" />
    </div>
  );
}

function Kpi({ label, value, note, tone, testId }: { label: string; value: string; note: string; tone?: "good" | "bad"; testId: string }) {
  return (
    <div className={`card dash-kpi${tone ? ` dash-kpi-${tone}` : ""}`} data-testid={testId}>
      <span className="dash-kpi-label">{label}</span>
      <span className="dash-kpi-value">{value}</span>
      <span className="dash-kpi-note">{note}</span>
    </div>
  );
}
