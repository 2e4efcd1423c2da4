/** The workflow's versions: view one read-only on the canvas, or restore it as unsaved changes. */
import { ErrorState, formatTime, Spinner } from "@/components/ui";
import { useWorkflowVersions } from "@/hooks/use-workflow";
import type { WorkflowVersion } from "@/lib/types";

import { Dialog } from "./Dialog";

interface VersionsDialogProps {
  workflowId: string;
  current: number;
  onView: (version: WorkflowVersion) => void;
  onRestore: (version: WorkflowVersion) => void;
  onClose: () => void;
}

export function VersionsDialog({ workflowId, current, onView, onRestore, onClose }: VersionsDialogProps) {
  const versions = useWorkflowVersions(workflowId);
  return (
    <Dialog title="Versions" onClose={onClose} wide>
      {versions.isPending && <Spinner />}
      {versions.isError && <ErrorState error={versions.error} onRetry={() => versions.refetch()} />}
      {versions.data && versions.data.length === 0 && (
        <p className="muted">No version yet. A version is published when the workflow is activated, and at each save while it is active.</p>
      )}
      {versions.data && versions.data.length > 0 && (
        <table className="table fp-versions">
          <thead>
            <tr><th>Version</th><th>Created</th><th>By</th><th>Steps</th><th /></tr>
          </thead>
          <tbody>
            {[...versions.data].sort((a, b) => b.number - a.number).map((version) => (
              <tr key={version.number}>
                <td>
                  <strong>v{version.number}</strong>
                  {version.number === current && <span className="badge fp-badge-current">current</span>}
                </td>
                <td>{formatTime(version.created_at)}</td>
                <td>{version.created_by ?? "—"}</td>
                <td>{version.definition.steps?.length ?? 0}</td>
                <td className="fp-row-actions">
                  <button type="button" className="btn btn-sm" onClick={() => onView(version)}>View</button>
                  <button type="button" className="btn btn-sm" onClick={() => onRestore(version)}>Restore</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Dialog>
  );
}
