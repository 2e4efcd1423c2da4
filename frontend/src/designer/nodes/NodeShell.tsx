/** The look every step node shares (designer and monitor): a card with an icon, the name, the type
 * and the key, a target handle on the left and one source handle on the right, or one labelled
 * handle per branch; and a red "failed" handle below, whose edges are failure paths ("key:failed"). Stable test hooks: data-testid="node-<key>", data-status, data-invalid, data-warning. */
import { Handle, Position } from "@xyflow/react";
import { memo, type ReactNode } from "react";

import { StepIcon } from "@/components/step-icons";
import { COMPENSATE_HANDLE, FAILED_BRANCH } from "@/lib/graph";
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
  /** A step that runs only as a compensation (another step's compensate_with names it). */
  compensation?: boolean;
  /** The step names a compensation step: its "compensate" link leaves from a handle above. */
  compensated?: boolean;
}

/** Zoomed out (lod.ts): a plain box in the node's size and colours, no handles, icon or labels. It keeps
 * invisible anchors where the handles are (classes "source"/"target" with their ids), which React Flow
 * measures as handle bounds, so edges still end at the right places; they cost no subscriptions. */
export const SimpleNodeShell = memo(function SimpleNodeShell(props: Pick<NodeShellProps,
  "stepKey" | "category" | "branches" | "selected" | "status" | "errors" | "warnings" | "compensation" | "compensated">) {
  const { stepKey, category, branches, selected, status, errors, warnings, compensation, compensated } = props;
  const invalid = !!errors?.length;
  const warned = !!warnings?.length;
  const classes = ["fp-node", "fp-node-simple", `fp-cat-${category ?? "other"}`, selected && "selected", invalid && "invalid",
    !invalid && warned && "warned", status && `status-${status}`, branches && "fp-node-simple-branches",
    compensation && "fp-node-compensation"].filter(Boolean).join(" ");
  return (
    <div className={classes} data-testid={`node-${stepKey}`} data-status={status ?? "idle"} data-lod="simple"
         data-invalid={invalid ? "true" : "false"} data-warning={warned ? "true" : "false"}>
      <span className="fp-anchor fp-anchor-left target" data-handlepos="left" />
      {branches ? (
        <div className="fp-branches">
          {branches.map((branch) => (
            <div key={branch} className="fp-branch">
              <span className="fp-anchor fp-anchor-branch source" data-handleid={branch} data-handlepos="right" />
            </div>
          ))}
        </div>
      ) : <span className="fp-anchor fp-anchor-right source" data-handlepos="right" />}
      <span className="fp-anchor fp-anchor-bottom source" data-handleid={FAILED_BRANCH} data-handlepos="bottom" />
      {compensated && <span className="fp-anchor fp-anchor-top source" data-handleid={COMPENSATE_HANDLE} data-handlepos="top" />}
    </div>
  );
});

export const NodeShell = memo(function NodeShell(props: NodeShellProps) {
  const { stepKey, name, taskType, category, branches, selected, status, errors, warnings, footer, compensation, compensated } = props;
  const invalid = !!errors?.length;
  const warned = !!warnings?.length;
  const classes = ["fp-node", `fp-cat-${category ?? "other"}`, selected && "selected", invalid && "invalid",
    !invalid && warned && "warned", status && `status-${status}`, compensation && "fp-node-compensation"].filter(Boolean).join(" ");
  const notes = [...(errors ?? []), ...(warnings ?? [])];
  return (
    <div className={classes} data-testid={`node-${stepKey}`} data-status={status ?? "idle"}
         data-invalid={invalid ? "true" : "false"} data-warning={warned ? "true" : "false"}
         title={notes.length ? notes.join("\n") : undefined}>
      <Handle type="target" position={Position.Left} className="fp-handle" />
      <div className="fp-node-icon" aria-hidden="true"><StepIcon taskType={taskType} category={category} /></div>
      <div className="fp-node-text">
        <div className="fp-node-name">{name || stepKey}</div>
        <div className="fp-node-meta">
          <span>{taskType}</span>
          <span className="fp-node-key">{stepKey}</span>
          {compensation && <span className="fp-node-compensation-mark" data-testid={`compensation-${stepKey}`}
                                 title="Runs only as a compensation: when a run fails (or is cancelled with compensate) after the step naming it completed">compensation</span>}
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
      {compensated && <Handle type="source" id={COMPENSATE_HANDLE} position={Position.Top}
                              className="fp-handle fp-handle-compensate" isConnectable={false} />}
      <Handle type="source" id={FAILED_BRANCH} position={Position.Bottom} className="fp-handle fp-handle-failed"
              title="On failure: connect the steps that run when this step fails for good"
              data-testid={`failed-handle-${stepKey}`} />
    </div>
  );
});
