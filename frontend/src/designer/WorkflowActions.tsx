/** The "Manage" menu of a workflow, in the list and the designer: settings, duplicate, export,
 * import (in the designer: replace this workflow's definition), pause/resume its runs, archive/unarchive, delete. What is
 * allowed is the server's answer: a refused action shows its message (e.g. a delete while runs are
 * in flight: 409 with the reason). */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useNavigate } from "react-router";

import { workflowKey, workflowsListKey } from "@/hooks/use-workflow";
import { toast } from "@/lib/toast";
import type { Workflow } from "@/lib/types";

import { Dialog } from "./Dialog";
import { downloadJson, exportFileName, manage, parseImportFile } from "./workflow-manage";
import { WorkflowSettingsDialog } from "./WorkflowSettingsDialog";

interface Props {
  workflow: Workflow;
  /** "designer": import replaces this workflow; delete goes back to the list. */
  place: "list" | "designer";
  /** Called after the workflow changed (settings, archive) with its new state. */
  onChanged?: (workflow: Workflow) => void;
  /** The designer has unsaved changes (an import replacing the definition asks first). */
  dirty?: boolean;
  /** Called with true right before the delete is sent, with false if it is refused: what the page asks the
   * server about this workflow in the background pauses meanwhile. */
  onDeleting?: (deleting: boolean) => void;
}

export function WorkflowActions({ workflow, place, onChanged, dirty, onDeleting }: Props) {
  const [open, setOpen] = useState<"settings" | "delete" | null>(null);
  const menu = useRef<HTMLDetailsElement>(null);
  const file = useRef<HTMLInputElement>(null);
  const client = useQueryClient();
  const navigate = useNavigate();
  const code = workflow.kind === "code";
  const archived = workflow.status === "archived";
  // A workflow deleted from the designer leaves the cache once the designer has unmounted: removed
  // while its queries (the workflow, versions, pinned data, triggers) still have observers, a render
  // of the designer before the list's (the navigation is a transition, a render may yield) would
  // fetch the deleted workflow again, a 404.
  const deleted = useRef<string | null>(null);
  useEffect(() => () => {
    if (deleted.current) client.removeQueries({ queryKey: workflowKey(deleted.current) });
  }, [client]);

  const changed = (next: Workflow) => {
    client.setQueryData(workflowKey(next.id), (old: Workflow | undefined) => (old ? { ...old, ...next, steps: old.steps } : next));
    void client.invalidateQueries({ queryKey: workflowsListKey });
    onChanged?.(next);
  };
  const close = () => menu.current?.removeAttribute("open");
  const failed = (what: string) => (error: Error) => toast(`${what} failed: ${error.message}`, "error");

  const duplicate = useMutation({
    mutationFn: () => manage.duplicate(workflow.id),
    onSuccess: (copy) => {
      void client.invalidateQueries({ queryKey: workflowsListKey });
      toast(`Created “${copy.name}” (a draft).`);
      navigate(`/workflows/${copy.id}`);
    },
    onError: failed("Duplicate"),
  });
  const archive = useMutation({
    mutationFn: () => (archived ? manage.unarchive(workflow.id) : manage.archive(workflow.id)),
    onSuccess: (next) => {
      changed(next);
      toast(next.status === "archived" ? `“${next.name}” archived: no new runs start.` : `“${next.name}” is ${next.status} again.`);
    },
    onError: failed(archived ? "Unarchive" : "Archive"),
  });
  const paused = Boolean(workflow.paused);
  const pause = useMutation({
    mutationFn: () => manage.pause(workflow.id, paused ? "unpause" : "pause"),
    onSuccess: (result) => {
      changed({ ...workflow, paused: !paused });
      void client.invalidateQueries({ queryKey: ["executions"] });
      toast(paused ? `Runs of “${workflow.name}” resumed (${result.count}); new runs start as usual.`
        : `Runs of “${workflow.name}” paused (${result.count}); new runs start paused until resumed.`);
    },
    onError: failed(paused ? "Resume" : "Pause"),
  });
  const exportIt = useMutation({
    mutationFn: () => manage.exportDocument(workflow.id),
    onSuccess: (document) => downloadJson(document, exportFileName(workflow.name)),
    onError: failed("Export"),
  });
  const importIt = useMutation({
    mutationFn: async (chosen: File) => manage.importDocument(parseImportFile(await chosen.text()), workflow.id),
    onSuccess: () => {
      toast("Imported: the definition was replaced.");
      void client.invalidateQueries({ queryKey: workflowsListKey });
      window.location.reload(); // the designer loads the new graph
    },
    onError: failed("Import"),
  });

  const item = (label: string, action: () => void, extra: { danger?: boolean; disabled?: boolean; title?: string } = {}) => (
    <button type="button" role="menuitem" className={`fp-menu-item${extra.danger ? " danger" : ""}`} disabled={extra.disabled}
            title={extra.title} onClick={(e) => { e.stopPropagation(); close(); action(); }}>
      {label}
    </button>
  );

  return (
    <span className="fp-menu-wrap" onClick={(e) => e.stopPropagation()}>
      <details ref={menu} className="fp-menu">
        <summary className="btn btn-sm" aria-label={`Manage ${workflow.name}`}>Manage ▾</summary>
        <div className="fp-menu-items card" role="menu">
          {!code && item("Settings…", () => setOpen("settings"))}
          {!code && item("Duplicate", () => duplicate.mutate(), { disabled: duplicate.isPending })}
          {item("Export JSON", () => exportIt.mutate(), { disabled: exportIt.isPending })}
          {place === "designer" && !code && item("Import JSON (replace)…", () => {
            if (dirty && !window.confirm("Importing replaces this workflow's definition; your unsaved changes are lost. Continue?")) return;
            file.current?.click();
          })}
          {item(paused ? "Resume runs" : "Pause runs", () => pause.mutate(), {
            disabled: pause.isPending,
            title: paused ? "Carry every paused run of this workflow on, and start new runs as usual"
              : "Pause every run of this workflow in flight; new runs start paused until resumed",
          })}
          {!code && item(archived ? "Unarchive" : "Archive", () => archive.mutate(), { disabled: archive.isPending })}
          {!code && item("Delete…", () => setOpen("delete"), { danger: true })}
        </div>
      </details>
      <input ref={file} type="file" accept="application/json,.json" hidden aria-label="Import file (replace)"
             data-testid="import-replace-file"
             onChange={(e) => { const chosen = e.target.files?.[0]; e.target.value = ""; if (chosen) importIt.mutate(chosen); }} />
      {open === "settings" && <WorkflowSettingsDialog workflow={workflow} onClose={() => setOpen(null)} onSaved={(saved) => { changed(saved); toast("Settings saved."); }} />}
      {open === "delete" && (
        <DeleteDialog workflow={workflow} onDeleting={onDeleting} onClose={() => setOpen(null)} onDeleted={() => {
          void client.invalidateQueries({ queryKey: workflowsListKey });
          toast(`“${workflow.name}” deleted.`);
          if (place === "designer") {
            deleted.current = workflow.id;
            navigate("/workflows");
          } else {
            client.removeQueries({ queryKey: workflowKey(workflow.id) });
          }
        }} />
      )}
    </span>
  );
}

function DeleteDialog({ workflow, onClose, onDeleted, onDeleting }: {
  workflow: Workflow; onClose: () => void; onDeleted: () => void; onDeleting?: (deleting: boolean) => void;
}) {
  const remove = useMutation({
    mutationFn: () => {
      onDeleting?.(true);
      return manage.remove(workflow.id);
    },
    onSuccess: () => { onClose(); onDeleted(); },
    onError: () => onDeleting?.(false),
  });
  return (
    <Dialog title={`Delete ${workflow.name}?`} onClose={onClose}
            footer={(
              <>
                <button type="button" className="btn" onClick={onClose}>Cancel</button>
                <button type="button" className="btn btn-danger" disabled={remove.isPending} onClick={() => remove.mutate()}>
                  {remove.isPending ? "Deleting…" : "Delete"}
                </button>
              </>
            )}>
      <p>The workflow, its versions, triggers and finished runs are deleted. This cannot be undone; archive it instead to keep its history.</p>
      {remove.error && <p className="form-error" role="alert">{remove.error.message}</p>}
    </Dialog>
  );
}
