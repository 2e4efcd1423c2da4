/** The look every step node shares (designer and monitor): a card with an icon, the name, the type
 * and the key, a target handle on the left and one source handle on the right, or one labelled
 * handle per branch. Stable test hooks: data-testid="node-<key>", data-status, data-invalid, data-warning. */
import { Handle, Position } from "@xyflow/react";
import { memo, type ReactNode } from "react";

import type { TaskStatus } from "@/lib/types";

export interface NodeShellProps {
  stepKey: string;
  name: string;
  taskType: string;
  category?: string;
  branches: string[] | null;
  selected?: boolean;
  status?: TaskStatus;
  /** Problems to show: a red border, their count and a tooltip. */
  errors?: string[];
  /** Warnings (saved, but a run would fail there: a missing credential): amber, when no error is shown. */
  warnings?: string[];
  footer?: ReactNode;
}

/** One small line icon per category (SVG paths on a 24x24 grid). */
const ICONS: Record<string, string> = {
  flow: "M6 3v12M18 9a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM6 21a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM18 9a9 9 0 0 1-9 9",
  integration: "M7 16l-4-4 4-4M17 8l4 4-4 4M14 4l-4 16",
  data: "M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3zM4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3",
  code: "M16 18l6-6-6-6M8 6l-6 6 6 6",
  utility: "M4 6h16M4 12h16M4 18h10",
  trigger: "M13 2L3 14h9l-1 8 10-12h-9l1-8z",
};
const FALLBACK_ICON = "M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8z";

function CategoryIcon({ category }: { category?: string }) {
  return (
    <svg viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
      <path d={ICONS[category ?? ""] ?? FALLBACK_ICON} />
    </svg>
  );
}

export const NodeShell = memo(function NodeShell(props: NodeShellProps) {
  const { stepKey, name, taskType, category, branches, selected, status, errors, warnings, footer } = props;
  const invalid = !!errors?.length;
  const warned = !!warnings?.length;
  const classes = ["fp-node", `fp-cat-${category ?? "other"}`, selected && "selected", invalid && "invalid",
    !invalid && warned && "warned", status && `status-${status}`].filter(Boolean).join(" ");
  const notes = [...(errors ?? []), ...(warnings ?? [])];
  return (
    <div className={classes} data-testid={`node-${stepKey}`} data-status={status ?? "idle"}
         data-invalid={invalid ? "true" : "false"} data-warning={warned ? "true" : "false"}
         title={notes.length ? notes.join("\n") : undefined}>
      <Handle type="target" position={Position.Left} className="fp-handle" />
      <div className="fp-node-icon" aria-hidden="true"><CategoryIcon category={category} /></div>
      <div className="fp-node-text">
        <div className="fp-node-name">{name || stepKey}</div>
        <div className="fp-node-meta">
          <span>{taskType}</span>
          <span className="fp-node-key">{stepKey}</span>
        </div>
        {footer}
      </div>
      {invalid ? (
        <span className="fp-node-errors" role="img" aria-label={`${errors!.length} problem${errors!.length > 1 ? "s" : ""}`}>
          {errors!.length}
        </span>
      ) : warned && (
        <span className="fp-node-errors fp-node-warnings" role="img" aria-label={`${warnings!.length} warning${warnings!.length > 1 ? "s" : ""}`}>
          !
        </span>
      )}
      {branches ? (
        <div className="fp-branches">
          {branches.map((branch) => (
            <div key={branch} className="fp-branch">
              <span className="fp-branch-label">{branch}</span>
              <Handle type="source" id={branch} position={Position.Right} className="fp-handle fp-handle-branch" />
            </div>
          ))}
        </div>
      ) : (
        <Handle type="source" position={Position.Right} className="fp-handle" />
      )}
    </div>
  );
});
