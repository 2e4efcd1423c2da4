/** /workflows — every workflow: search, status filter, pages, the last runs of each, and
 * "New workflow", which opens the designer. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";

import { EmptyState, ErrorState, formatTime, Spinner, StatusBadge } from "@/components/ui";
import { workflowsListKey } from "@/hooks/use-workflow";
import { api, type Page } from "@/lib/api";
import { toast } from "@/lib/toast";
import type { Execution, Workflow } from "@/lib/types";

import { Dialog } from "./Dialog";
import { manage, parseImportFile } from "./workflow-manage";
import { WorkflowActions } from "./WorkflowActions";

const PAGE_SIZE = 20;

export function WorkflowsPage() {
  const [params, setParams] = useSearchParams();
  const search = params.get("search") ?? "";
  const status = params.get("status") ?? "";
  const page = Math.max(0, Number(params.get("page") ?? 0) || 0);
  const [text, setText] = useState(search);
  const [creating, setCreating] = useState(false);
  const navigate = useNavigate();

  const update = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setParams(next, { replace: true });
  };

  // Search as you type, a moment after the last key.
  useEffect(() => {
    if (text === search) return;
    const timer = setTimeout(() => update({ search: text, page: "" }), 250);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text]);

  const list = useQuery({
    queryKey: [...workflowsListKey, { search, status, page }],
    queryFn: () => api.get<Page<Workflow>>("workflows/", { search, status, limit: PAGE_SIZE, offset: page * PAGE_SIZE }),
    placeholderData: (previous) => previous,
  });

  const filtered = Boolean(search || status);
  const pages = list.data ? Math.max(1, Math.ceil(list.data.count / PAGE_SIZE)) : 1;

  return (
    <div className="page-body">
      <div className="page-header">
        <h1>Workflows</h1>
        {list.data && <span className="muted">{list.data.count}</span>}
        <div className="spacer" />
        <input type="search" className="fp-search" placeholder="Search by name…" aria-label="Search workflows" value={text}
               onChange={(e) => setText(e.target.value)} />
        <select aria-label="Status" className="fp-status-filter" value={status} onChange={(e) => update({ status: e.target.value, page: "" })}>
          <option value="">All statuses</option>
          <option value="draft">Draft</option>
          <option value="active">Active</option>
          <option value="archived">Archived</option>
        </select>
        <ImportButton />
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>New workflow</button>
      </div>

      <div className="card">
        {list.isPending && <Spinner label="Loading workflows…" />}
        {list.isError && <ErrorState error={list.error} onRetry={() => list.refetch()} />}
        {list.data && list.data.results.length === 0 && (
          filtered ? (
            <EmptyState title="No workflow matches" action={<button type="button" className="btn" onClick={() => { setText(""); update({ search: "", status: "", page: "" }); }}>Clear the filters</button>}>
              Nothing is named like “{search}”{status ? ` with status ${status}` : ""}.
            </EmptyState>
          ) : (
            <EmptyState title="No workflows yet" action={<button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>New workflow</button>}>
              A workflow is steps that run in order: “when a user signs up → send a welcome email → notify Slack”.
            </EmptyState>
          )
        )}
        {list.data && list.data.results.length > 0 && (
          <table className="table fp-workflows">
            <thead>
              <tr><th>Name</th><th>Status</th><th>Version</th><th>Steps</th><th>Updated</th><th>Last runs</th><th><span className="sr-only">Actions</span></th></tr>
            </thead>
            <tbody>
              {list.data.results.map((workflow) => (
                <tr key={workflow.id} className="clickable" onClick={(e) => {
                  if (!(e.target as HTMLElement).closest("a")) navigate(`/workflows/${workflow.id}`);
                }}>
                  <td>
                    <Link to={`/workflows/${workflow.id}`} className="fp-wf-name">{workflow.name}</Link>
                    {workflow.kind === "code" && (
                      <span className="badge badge-code fp-wf-kind" title={`Defined in code: ${workflow.code?.workflow_class ?? ""}`}>code</span>
                    )}
                    {workflow.description && <div className="muted small fp-wf-desc">{workflow.description}</div>}
                  </td>
                  <td><StatusBadge status={workflow.status} />{workflow.paused && <> <span className="badge status-paused" title="Its runs are paused; new runs start paused">paused</span></>}</td>
                  <td>{workflow.version ? `v${workflow.version}` : "—"}</td>
                  <td>{(workflow.kind === "code" ? workflow.code?.steps : workflow.steps)?.length ?? "—"}</td>
                  <td className="muted small">{formatTime(workflow.updated_at)}</td>
                  <td><LastRuns workflowId={workflow.id} /></td>
                  <td><WorkflowActions workflow={workflow} place="list" /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {list.data && pages > 1 && (
        <div className="fp-pager">
          <button type="button" className="btn btn-sm" disabled={page === 0} onClick={() => update({ page: String(page - 1) })}>Previous</button>
          <span className="muted small">Page {page + 1} of {pages}</span>
          <button type="button" className="btn btn-sm" disabled={page + 1 >= pages} onClick={() => update({ page: String(page + 1) })}>Next</button>
        </div>
      )}
      {creating && <NewWorkflowDialog onClose={() => setCreating(false)} />}
    </div>
  );
}

/** The last five runs as a strip of status dots, newest first; each opens its execution. */
function LastRuns({ workflowId }: { workflowId: string }) {
  const runs = useQuery({
    queryKey: ["executions", "last", workflowId],
    queryFn: () => api.get<Page<Execution>>("executions/", { workflow: workflowId, limit: 5 }),
    staleTime: 15_000,
  });
  if (runs.isPending) return <span className="muted small">…</span>;
  if (runs.isError) return <span className="muted small">—</span>;
  if (!runs.data.results.length) return <span className="muted small">never run</span>;
  return (
    <span className="fp-runs">
      {runs.data.results.map((run) => (
        <Link key={run.id} to={`/executions/${run.id}`} className={`fp-run-dot status-${run.status}`}
              title={`${run.status} · ${formatTime(run.created_at)}`} aria-label={`Run ${run.status}, ${formatTime(run.created_at)}`} />
      ))}
    </span>
  );
}

function NewWorkflowDialog({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const navigate = useNavigate();
  const client = useQueryClient();
  const create = useMutation({
    mutationFn: () => api.post<Workflow>("workflows/", { name: name.trim(), description }),
    onSuccess: (workflow) => {
      client.invalidateQueries({ queryKey: workflowsListKey });
      client.setQueryData(["workflows", workflow.id], workflow);
      navigate(`/workflows/${workflow.id}`);
    },
  });
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (name.trim()) create.mutate();
  };
  const nameError = create.error && "fields" in create.error ? (create.error as { fields: Record<string, string[]> }).fields.name : undefined;
  return (
    <Dialog title="New workflow" onClose={onClose}
            footer={(
              <>
                <button type="button" className="btn" onClick={onClose}>Cancel</button>
                <button type="submit" form="new-workflow" className="btn btn-primary" disabled={!name.trim() || create.isPending}>
                  {create.isPending ? "Creating…" : "Create and open"}
                </button>
              </>
            )}>
      <form id="new-workflow" onSubmit={submit}>
        <div className="field">
          <label className="field-label" htmlFor="wf-name">Name</label>
          <input id="wf-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} required
                 placeholder="e.g. New user signup" />
          {nameError && <p className="field-error">{nameError.join(" ")}</p>}
        </div>
        <div className="field">
          <label className="field-label" htmlFor="wf-description">Description</label>
          <textarea id="wf-description" rows={3} value={description} onChange={(e) => setDescription(e.target.value)}
                    style={{ fontFamily: "inherit", fontSize: "inherit" }} />
        </div>
        {create.error && !nameError && <p className="form-error" role="alert">{create.error.message}</p>}
      </form>
    </Dialog>
  );
}

/** "Import…": a workflow from an exported JSON file (POST /workflows/import/, checked as a new
 * workflow is); opens the new workflow, or says what the server refused. */
function ImportButton() {
  const file = useRef<HTMLInputElement>(null);
  const navigate = useNavigate();
  const client = useQueryClient();
  const importIt = useMutation({
    mutationFn: async (chosen: File) => manage.importDocument(parseImportFile(await chosen.text())),
    onSuccess: (workflow) => {
      void client.invalidateQueries({ queryKey: workflowsListKey });
      toast(`Imported “${workflow.name}”.`);
      navigate(`/workflows/${workflow.id}`);
    },
    onError: (error) => toast(`Import failed: ${error.message}`, "error"),
  });
  return (
    <>
      <button type="button" className="btn" disabled={importIt.isPending} onClick={() => file.current?.click()}
              title="Create a workflow from an exported JSON file">
        {importIt.isPending ? "Importing…" : "Import…"}
      </button>
      <input ref={file} type="file" accept="application/json,.json" hidden aria-label="Import a workflow file"
             data-testid="import-file"
             onChange={(e) => { const chosen = e.target.files?.[0]; e.target.value = ""; if (chosen) importIt.mutate(chosen); }} />
    </>
  );
}
