/** /dashboard: how the workflows do over a window (in the URL): headline figures, per workflow and
 * per step, throughput, what runs now and the top errors, refreshed every 15 s and on live events. */
import { useMemo, type ReactNode } from "react";
import { Link, useSearchParams } from "react-router";

import { EmptyState, ErrorState, Spinner } from "@/components/ui";
import { useMetricsFeed } from "@/hooks/use-metrics-feed";
import { useNow } from "@/hooks/use-now";
import { LiveIndicator } from "@/monitor/LiveIndicator";
import { useWorkflowOptions } from "@/monitor/queries";

import { BarChart, type BarRow } from "./BarChart";
import { topBy } from "./charts";
import { formatMs, formatRate } from "./format";
import { KpiCards } from "./KpiCards";
import { useErrors, useRunning, useStepMetrics, useThroughput, useWorkflowMetrics } from "./queries";
import { RunningNow } from "./RunningNow";
import { StepTable } from "./StepTable";
import { summarize } from "./summary";
import { ThroughputChart } from "./ThroughputChart";
import { TopErrors } from "./TopErrors";
import type { Figures, StepFigures } from "./types";
import { executionsLink, parseView, viewToParams, WINDOW_LABELS, WINDOWS, type DashboardView } from "./window-params";
import { WorkflowTable } from "./WorkflowTable";

const CHART_ROWS = 8;

export function DashboardPage() {
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => parseView(params), [params]);
  const setView = (next: DashboardView) => setParams(viewToParams(next));
  const live = useMetricsFeed();
  const workflows = useWorkflowMetrics(view);
  const steps = useStepMetrics(view);
  const throughput = useThroughput(view);
  const running = useRunning(view);
  const errors = useErrors(view);
  const options = useWorkflowOptions();
  const now = useNow(15_000);

  const rows = workflows.data?.workflows ?? [];
  const withRuns = rows.filter((row) => row.runs > 0);
  const summary = workflows.data ? summarize(rows, view.workflow) : null;
  const selectedName = rows.find((row) => row.workflow_id === view.workflow)?.workflow_name
    ?? options.data?.find((option) => option.id === view.workflow)?.name ?? "";

  return (
    <div className="page-body dash-page">
      <div className="page-header">
        <h1>Dashboard</h1>
        <LiveIndicator state={live} />
        <span className="spacer" />
        <label className="dash-filter">
          <span>Workflow</span>
          <select aria-label="Workflow" value={view.workflow} onChange={(event) => setView({ ...view, workflow: event.target.value })}>
            <option value="">All workflows</option>
            {(options.data ?? []).map((option) => <option key={option.id} value={option.id}>{option.name}</option>)}
            {view.workflow && !options.data?.some((option) => option.id === view.workflow) && (
              <option value={view.workflow}>{selectedName || view.workflow}</option>
            )}
          </select>
        </label>
        <div className="monitor-segmented" role="group" aria-label="Window">
          {WINDOWS.map((name) => (
            <button key={name} type="button" className={name === view.window ? "on" : undefined} aria-pressed={name === view.window}
                    title={`The last ${WINDOW_LABELS[name]}`} onClick={() => setView({ ...view, window: name })}>
              {name}
            </button>
          ))}
        </div>
      </div>

      {workflows.isPending ? (
        <Spinner label="Loading the figures…" />
      ) : workflows.isError ? (
        <ErrorState error={workflows.error} onRetry={() => workflows.refetch()} />
      ) : (
        <>
          <KpiCards summary={summary} running={running.data?.totals ?? null} windowLabel={WINDOW_LABELS[view.window]} />

          <section className="card dash-section" aria-label="Workflows">
            <div className="panel-title">
              <h2>Workflows</h2>
              <span className="muted small">runs that ended in the last {WINDOW_LABELS[view.window]}; click one to see its steps</span>
              <span className="spacer" />
              {view.workflow && <button type="button" className="btn btn-sm" onClick={() => setView({ ...view, workflow: "" })}>Show all workflows</button>}
            </div>
            {rows.length === 0 ? (
              <EmptyState title="No runs yet">Run a workflow and its figures appear here.</EmptyState>
            ) : (
              <WorkflowTable rows={rows} selected={view.workflow} onSelect={(workflow) => setView({ ...view, workflow })} />
            )}
          </section>

          {view.workflow && (
            <section className="card dash-section" aria-label="Steps">
              <div className="panel-title">
                <h2>Steps of {selectedName || "this workflow"}</h2>
                <span className="spacer" />
                <Link to={executionsLink(view.workflow, "failed")}>Failed runs of this workflow</Link>
              </div>
              <Loaded query={steps}>{(data) => <StepTable rows={data.steps} workflowId={view.workflow} />}</Loaded>
            </section>
          )}

          <section className="card dash-section" aria-label="Top errors">
            <div className="panel-title">
              <h2>Top errors</h2>
              <span className="muted small">failed attempts grouped by message{selectedName ? ` · ${selectedName}` : ""}</span>
            </div>
            <Loaded query={errors}>{(data) => <TopErrors data={data} workflow={view.workflow} now={now} />}</Loaded>
          </section>

          <div className="dash-grid">
            <section className="card dash-section" aria-label="Throughput">
              <div className="panel-title"><h2>Throughput</h2><span className="muted small">runs ended per bucket</span></div>
              <Loaded query={throughput}>{(data) => <ThroughputChart data={data} />}</Loaded>
            </section>
            <section className="card dash-section" aria-label="Running now">
              <div className="panel-title"><h2>Running now</h2></div>
              <Loaded query={running}>{(data) => <RunningNow data={data} />}</Loaded>
            </section>
          </div>

          <div className="dash-charts">
            <BarChart title="Failure rate by workflow" tone="rate" max={1} rows={workflowBars(withRuns, (r) => r.failure_rate, formatRate)} />
            <BarChart title="p95 duration by workflow" tone="duration" rows={workflowBars(withRuns, (r) => r.p95_ms, formatMs)} />
            <BarChart title={`Failure rate by step${selectedName ? "" : " (all workflows)"}`} tone="rate" max={1}
                      rows={stepBars(steps.data?.steps ?? [], (r) => r.failure_rate, formatRate, !view.workflow)} />
            <BarChart title={`p95 duration by step${selectedName ? "" : " (all workflows)"}`} tone="duration"
                      rows={stepBars(steps.data?.steps ?? [], (r) => r.p95_ms, formatMs, !view.workflow)} />
          </div>
        </>
      )}
    </div>
  );
}

function workflowBars(rows: Figures[], value: (row: Figures) => number | null, text: (v: number | null) => string): BarRow[] {
  return topBy(rows, value, CHART_ROWS).map((row) => ({
    key: row.workflow_id, label: row.workflow_name, title: row.workflow_name, value: value(row), text: text(value(row)),
  }));
}

function stepBars(rows: StepFigures[], value: (row: StepFigures) => number | null, text: (v: number | null) => string,
                  withWorkflow: boolean): BarRow[] {
  return topBy(rows, value, CHART_ROWS).map((row) => ({
    key: `${row.workflow_id}:${row.step_key}`,
    label: withWorkflow ? `${row.workflow_name} · ${row.step_key}` : row.step_key,
    title: `${row.workflow_name} · ${row.step_key}`,
    value: value(row),
    text: text(value(row)),
  }));
}

/** A section's loading, error or data. */
function Loaded<T>({ query, children }: {
  query: { isPending: boolean; isError: boolean; error: unknown; data: T | undefined; refetch: () => unknown };
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Spinner />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  return <>{children(query.data as T)}</>;
}
