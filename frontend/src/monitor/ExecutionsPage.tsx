/** /executions: every run of the user's workflows, filtered through the URL, live, with bulk retry of
 * selected failed runs, bulk rerun from a step of selected finished runs or of all matching ones,
 * and bulk pause / resume of selected runs (those whose allowed_actions say so). */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";

import { EmptyState, ErrorState, formatDuration, formatTime, Spinner, HandledFailures, StatusBadge } from "@/components/ui";
import { useExecutionsFeed } from "@/hooks/use-executions-feed";
import { useNow } from "@/hooks/use-now";
import { ApiError } from "@/lib/api";
import { toast } from "@/lib/toast";
import type { Execution } from "@/lib/types";

import { canRerun, rerunFilters, rerunSummary } from "./bulk-rerun";
import { BulkRerunDialog } from "./BulkRerunDialog";
import { ConfirmDialog } from "./ConfirmDialog";
import { ExecutionsFilterBar } from "./ExecutionsFilterBar";
import { filtersToParams, isFiltered, NO_FILTERS, PAGE_SIZE, pageCount, parseFilters, type ListFilters } from "./list-filters";
import { LiveIndicator } from "./LiveIndicator";
import { bulkRerun, executionKeys, pauseSelected, retrySelected, useBulkRetryPreview, useCommonStepKeys, useExecutionList } from "./queries";
import { outdatedNote, type RetryVersion } from "./retry-version";

export function ExecutionsPage() {
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => parseFilters(params), [params]);
  const live = useExecutionsFeed();
  const list = useExecutionList(filters, { poll: live === "open" ? false : 10_000 });
  const navigate = useNavigate();
  const client = useQueryClient();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirming, setConfirming] = useState(false);
  const [retrying, setRetrying] = useState(false);
  const [bulkVersion, setBulkVersion] = useState<RetryVersion>("latest");
  const [rerunning, setRerunning] = useState<"selection" | "filters" | null>(null);

  const rows = list.data?.results ?? [];
  const failedIds = rows.filter((row) => row.status === "failed").map((row) => row.id);
  // Selectable: failed runs (retry) and the runs the server allows a rerun, pause or resume of (allowed_actions).
  const selectableIds = rows.filter(selectable).map((row) => row.id);
  const selectableKey = selectableIds.join(",");
  const retryIds = failedIds.filter((id) => selected.has(id));
  const rerunRows = rows.filter((row) => selected.has(row.id) && canRerun(row));
  const preview = useBulkRetryPreview(retryIds.slice().sort(), confirming);
  // A selected run that can no longer be selected here (retried elsewhere, another page) drops out of the selection.
  useEffect(() => {
    const selectable = new Set(selectableKey.split(","));
    setSelected((current) => {
      const still = new Set([...current].filter((id) => selectable.has(id)));
      return still.size === current.size ? current : still;
    });
  }, [selectableKey]);
  const byFilters = rerunFilters(filters);
  const rerunVersions = rerunning === "selection"
    ? rerunRows.map((row) => ({ workflow: row.workflow, number: row.workflow_version }))
    : "body" in byFilters ? [{ workflow: byFilters.body.workflow_id, number: "latest" as const }] : [];
  const stepKeys = useCommonStepKeys(rerunVersions, rerunning !== null);
  const rerunIdsKey = rerunRows.map((row) => row.id).join(",");
  const filterKey = JSON.stringify("body" in byFilters ? byFilters.body : {});
  const rerunBody = useCallback((fromStep: string) => (rerunning === "selection"
    ? { from_step: fromStep, execution_ids: rerunIdsKey.split(",") }
    : { from_step: fromStep, ...(JSON.parse(filterKey) as Record<string, string>) }), [rerunning, rerunIdsKey, filterKey]);
  const rerunPreview = useCallback((fromStep: string) => bulkRerun({ ...rerunBody(fromStep), dry_run: true }), [rerunBody]);
  const rerun = async (fromStep: string) => {
    const answer = await bulkRerun(rerunBody(fromStep));
    const refused = answer.refused ?? {};
    toast(rerunSummary(answer.rerun ?? answer.count, refused), Object.keys(refused).length ? "error" : "info");
    if (rerunning === "selection") setSelected(new Set());
    setRerunning(null);
    void client.invalidateQueries({ queryKey: executionKeys.lists() });
  };
  const can = (action: "pause" | "unpause") => rows.some((row) => selected.has(row.id) && row.allowed_actions.includes(action));
  const [pausing, setPausing] = useState(false);
  const pauseOrResume = async (action: "pause" | "unpause") => {
    setPausing(true);
    try {
      const ids = rows.filter((row) => selected.has(row.id) && row.allowed_actions.includes(action)).map((row) => row.id);
      const done = await pauseSelected(ids, action);
      toast(`${action === "pause" ? "Paused" : "Resumed"} ${done} execution${done === 1 ? "" : "s"}.`);
      setSelected(new Set());
    } catch (error) {
      toast(`${action === "pause" ? "Pause" : "Resume"} failed: ${error instanceof Error ? error.message : String(error)}`, "error");
    } finally {
      setPausing(false);
      void client.invalidateQueries({ queryKey: executionKeys.lists() });
    }
  };
  const now = useNow(1000, rows.some((row) => row.status === "running" || row.status === "pending"));

  const setFilters = (next: ListFilters) => setParams(filtersToParams(next));
  const toggle = (id: string) => setSelected((current) => {
    const next = new Set(current);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return next;
  });
  const allSelected = selectableIds.length > 0 && selectableIds.every((id) => selected.has(id));

  const retry = async () => {
    setRetrying(true);
    try {
      const { retried, failed, refused } = await retrySelected(retryIds, preview.data?.outdated ? bulkVersion : "original");
      const reasons = Object.values(refused ?? {});
      toast(failed.length
        ? `Retried ${retried.length} of ${retryIds.length} executions; ${failed.length} could not be retried${reasons.length ? `: ${reasons[0]}` : "."}`
        : `Retried ${retried.length} execution${retried.length === 1 ? "" : "s"}.`, failed.length ? "error" : "info");
      setSelected(new Set());
      setConfirming(false);
    } catch (error) {
      toast(`Retry failed: ${error instanceof ApiError || error instanceof Error ? error.message : String(error)}`, "error");
    } finally {
      setRetrying(false);
      void client.invalidateQueries({ queryKey: executionKeys.lists() });
    }
  };

  return (
    <div className="page-body monitor-list-page">
      <div className="page-header">
        <h1>Executions</h1>
        <LiveIndicator state={live} />
        <span className="spacer" />
        {selected.size > 0 && <span className="muted">{selected.size} selected</span>}
        {can("pause") && (
          <button type="button" className="btn" disabled={pausing} onClick={() => void pauseOrResume("pause")}
                  title="Pause the selected runs: no new step starts and their timers wait">
            Pause selected
          </button>
        )}
        {can("unpause") && (
          <button type="button" className="btn" disabled={pausing} onClick={() => void pauseOrResume("unpause")}
                  title="Resume the selected paused runs where they stopped">
            Resume selected
          </button>
        )}
        <button type="button" className="btn" disabled={!rerunRows.length} onClick={() => setRerunning("selection")}
                title="Rerun the selected finished executions from a step you choose">
          Rerun from step…{rerunRows.length ? ` (${rerunRows.length})` : ""}
        </button>
        <button type="button" className="btn" disabled={!("body" in byFilters)} onClick={() => setRerunning("filters")}
                title={"reason" in byFilters ? byFilters.reason : "Rerun every finished execution matching the filters from a step"}>
          Rerun all matching…
        </button>
        <button type="button" className="btn btn-primary" disabled={!retryIds.length} onClick={() => setConfirming(true)}
                title="Retry the selected failed executions from their failed steps">
          Retry selected{retryIds.length ? ` (${retryIds.length})` : ""}
        </button>
      </div>

      <ExecutionsFilterBar filters={filters} onChange={setFilters} />

      <div className="card monitor-table-card">
        {list.isPending ? (
          <Spinner label="Loading executions…" />
        ) : list.isError ? (
          <ErrorState error={list.error} onRetry={() => list.refetch()} />
        ) : rows.length === 0 ? (
          isFiltered(filters) ? (
            <EmptyState title="No executions match these filters"
                        action={<button type="button" className="btn" onClick={() => setFilters(NO_FILTERS)}>Clear filters</button>} />
          ) : (
            <EmptyState title="No executions yet" action={<Link className="btn" to="/workflows">Open a workflow to run it</Link>}>
              Runs appear here the moment they start, from the API, a webhook, a schedule or the designer.
            </EmptyState>
          )
        ) : (
          <>
            <table className="table monitor-table" aria-busy={list.isFetching}>
              <thead>
                <tr>
                  <th className="monitor-col-check">
                    <input type="checkbox" aria-label="Select all failed or finished executions on this page" checked={allSelected}
                           disabled={!selectableIds.length}
                           onChange={() => setSelected(allSelected ? new Set() : new Set(selectableIds))} />
                  </th>
                  <th>Status</th>
                  <th>Workflow</th>
                  <th>Trigger</th>
                  <th>Started</th>
                  <th>Duration</th>
                  <th>Error</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((row) => (
                  <ExecutionRow key={row.id} execution={row} selected={selected.has(row.id)} onToggle={() => toggle(row.id)}
                                onOpen={() => navigate(`/executions/${row.id}`)} now={now} />
                ))}
              </tbody>
            </table>
            <Pagination count={list.data.count} page={filters.page} onPage={(page) => setFilters({ ...filters, page })} />
          </>
        )}
      </div>

      {confirming && (
        <ConfirmDialog title={`Retry ${retryIds.length} failed execution${retryIds.length === 1 ? "" : "s"}?`} confirmLabel="Retry"
                       busy={retrying} onConfirm={() => void retry()} onClose={() => setConfirming(false)}>
          <p>Each run resumes at its failed steps; the steps that completed keep their results.</p>
          {preview.data && outdatedNote(preview.data.outdated, preview.data.count) && (
            <fieldset className="fp-retry-version">
              <legend>{outdatedNote(preview.data.outdated, preview.data.count)}</legend>
              <label className="fp-retry-choice">
                <input type="radio" name="bulk-retry-version" checked={bulkVersion === "original"} onChange={() => setBulkVersion("original")} />
                <span>Retry each on its run's version</span>
              </label>
              <label className="fp-retry-choice">
                <input type="radio" name="bulk-retry-version" checked={bulkVersion === "latest"} onChange={() => setBulkVersion("latest")} />
                <span>Retry on the latest version <span className="muted small">— a run the latest version cannot take over is left failed, with the reason</span></span>
              </label>
            </fieldset>
          )}
        </ConfirmDialog>
      )}
      {rerunning && (
        <BulkRerunDialog what={rerunning === "selection" ? `${rerunRows.length} selected execution${rerunRows.length === 1 ? "" : "s"}`
                                                         : "the matching executions"}
                         stepKeys={stepKeys}
                         problem={stepKeys && !stepKeys.length ? "The selected executions have no step in common: select runs of one workflow." : undefined}
                         preview={rerunPreview} onRerun={rerun} onClose={() => setRerunning(null)} />
      )}
    </div>
  );
}

/** A row the list's bulk actions can act on: a failed run (retry), or one the server lets pause or resume. */
function selectable(execution: Execution): boolean {
  return execution.status === "failed" || canRerun(execution) || execution.allowed_actions.includes("pause")
    || execution.allowed_actions.includes("unpause");
}

function ExecutionRow({ execution, selected, onToggle, onOpen, now }: {
  execution: Execution; selected: boolean; onToggle: () => void; onOpen: () => void; now: number;
}) {
  const checkable = selectable(execution);
  const running = execution.status === "running" || execution.status === "pending";
  return (
    <tr className={`clickable${selected ? " monitor-row-selected" : ""}`} data-testid={`execution-row-${execution.id}`}
        onClick={onOpen} onKeyDown={(event) => event.key === "Enter" && onOpen()} tabIndex={0}>
      <td className="monitor-col-check" onClick={(event) => event.stopPropagation()}>
        {checkable && <input type="checkbox" aria-label="Select" checked={selected} onChange={onToggle} />}
      </td>
      <td><StatusBadge status={execution.status} /> <HandledFailures execution={execution} /></td>
      <td>
        <Link to={`/executions/${execution.id}`} className="monitor-row-title" onClick={(event) => event.stopPropagation()}>
          {execution.workflow_name}
        </Link>
        <div className="muted small mono" title={execution.id}>v{execution.workflow_version} · {execution.id.slice(0, 8)}</div>
      </td>
      <td>
        <span className="monitor-trigger">{execution.triggered_by}</span>
        {execution.is_replay && execution.replay_of && (
          <Link to={`/executions/${execution.replay_of}`} className="badge fp-replay" title="A dry run of this run"
                onClick={(event) => event.stopPropagation()}>replay of #{execution.replay_of.slice(0, 8)}</Link>
        )}
        {execution.test_run && (
          <span className="badge fp-replay" title="Pinned steps answered from their pins, the rest ran for real">test run with pins</span>
        )}
      </td>
      <td title={formatTime(execution.started_at ?? execution.created_at)}>{relativeTime(execution.started_at ?? execution.created_at, now)}</td>
      <td className={running ? "monitor-running-text" : undefined}>
        {formatDuration(execution.started_at, execution.completed_at, now)}
      </td>
      <td className="monitor-col-error" title={execution.error_message || undefined}>
        {execution.error_message ? <span className="monitor-error-excerpt">{execution.error_message}</span> : <span className="muted">—</span>}
      </td>
    </tr>
  );
}

function Pagination({ count, page, onPage }: { count: number; page: number; onPage: (page: number) => void }) {
  const pages = pageCount(count, PAGE_SIZE);
  const first = (page - 1) * PAGE_SIZE + 1;
  const last = Math.min(page * PAGE_SIZE, count);
  return (
    <div className="monitor-pagination">
      <span className="muted">{count ? `${first}–${last} of ${count}` : "0"}</span>
      <span className="spacer" />
      <button type="button" className="btn btn-sm" disabled={page <= 1} onClick={() => onPage(page - 1)}>Previous</button>
      <span className="muted small">Page {page} of {pages}</span>
      <button type="button" className="btn btn-sm" disabled={page >= pages} onClick={() => onPage(page + 1)}>Next</button>
    </div>
  );
}

/** "just now", "5 min ago", "3 h ago", else the date. */
export function relativeTime(iso: string | null, now: number = Date.now()): string {
  if (!iso) return "—";
  const seconds = (now - Date.parse(iso)) / 1000;
  if (!Number.isFinite(seconds)) return "—";
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
