/** The designer's header: the workflow's name (editable), status, version, save state, problems,
 * and the actions Save / Versions / Activate / Run / Executions; for a workflow defined in code, a
 * "Defined in code" badge and its class instead of the save state, and only Executions and Run. */
import { memo } from "react";
import { Link } from "react-router";

import { StatusBadge } from "@/components/ui";
import type { Workflow } from "@/lib/types";
import { issueCount, warningCount } from "@/lib/validation";

import { useDesigner, useDesignerApi } from "./context";
import { WorkflowActions } from "./WorkflowActions";

interface DesignerHeaderProps {
  workflow: Workflow;
  busy: "save" | "activate" | null;
  onSave: () => void;
  onActivate: () => void;
  onRun: () => void;
  onVersions: () => void;
  /** A delete of this workflow is being sent (true) or was refused (false): the designer's own checks pause. */
  onDeleting?: (deleting: boolean) => void;
}

export const DesignerHeader = memo(function DesignerHeader({ workflow, busy, onSave, onActivate, onRun, onVersions, onDeleting }: DesignerHeaderProps) {
  const api = useDesignerApi();
  const name = useDesigner((s) => s.name);
  const dirty = useDesigner((s) => s.revision !== s.savedRevision);
  const problems = useDesigner((s) => issueCount(s.issues) + s.generalErrors.length);
  const warnings = useDesigner((s) => warningCount(s.issues));
  const viewing = useDesigner((s) => s.viewing !== null);
  const active = workflow.status === "active";
  const code = workflow.kind === "code";

  return (
    <header className="fp-designer-header">
      <Link to="/workflows" className="btn btn-ghost btn-sm" aria-label="Back to workflows">←</Link>
      <input className="fp-name-input" aria-label="Workflow name" value={name} disabled={viewing} maxLength={200}
             onChange={(e) => api.getState().setName(e.target.value)} placeholder="Workflow name" />
      <StatusBadge status={workflow.status} />
      {workflow.paused && <span className="badge status-paused" title="Its runs are paused; new runs start paused (Manage ▸ Resume runs)">paused</span>}
      <span className="muted small" title="The latest published version">{workflow.version ? `v${workflow.version}` : "no version yet"}</span>
      {code ? (
        <>
          <span className="badge badge-code" title="Edited in Python, read-only here">Defined in code</span>
          <code className="fp-code-class muted small" title={workflow.code?.workflow_class}>{workflow.code?.workflow_class}</code>
        </>
      ) : (
        <span className={`fp-save-state${dirty ? " dirty" : ""}`} aria-live="polite">
          {dirty ? "Unsaved changes" : "All changes saved"}
        </span>
      )}
      {problems > 0 && (
        <button type="button" className="fp-problem-count" onClick={() => api.getState().select([])}
                title="Show the problems">
          {problems} problem{problems > 1 ? "s" : ""}
        </button>
      )}
      {warnings > 0 && (
        <button type="button" className="fp-warning-count" onClick={() => api.getState().select([])}
                title="Saved, but a run would fail there: show the warnings">
          {warnings} warning{warnings > 1 ? "s" : ""}
        </button>
      )}
      <div className="spacer" />
      <div className="btn-group">
        {!code && <WorkflowActions workflow={workflow} place="designer" dirty={dirty} onDeleting={onDeleting} onChanged={(next) => {
          if (next.description !== undefined) {
            const state = api.getState();
            const clean = state.revision === state.savedRevision;
            state.setDescription(next.description); // the designer's save sends it: keep it in step
            if (clean) state.markSaved(api.getState().revision);
          }
        }} />}
        <Link className="btn" to={`/executions?workflow=${workflow.id}`}>Executions</Link>
        {!code && <button type="button" className="btn" onClick={onVersions}>Versions</button>}
        {!active && !code && (
          <button type="button" className="btn" onClick={onActivate} disabled={busy !== null || viewing}
                  title="Publish the saved definition as a version and allow runs">
            {busy === "activate" ? "Activating…" : "Activate"}
          </button>
        )}
        <button type="button" className="btn" onClick={onRun} disabled={busy !== null || (viewing && !code)}>Run</button>
        {!code && (
          <button type="button" className="btn btn-primary" onClick={onSave} disabled={busy !== null || viewing || !dirty}
                  title="Save (Ctrl+S)">
            {busy === "save" ? "Saving…" : "Save"}
          </button>
        )}
      </div>
    </header>
  );
});
