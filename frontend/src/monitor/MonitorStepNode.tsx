/** A step on the monitor's read-only canvas: its name and type, coloured by the status of its latest
 * attempt, with how many attempts it took (all of them; a step visited again by a code workflow's loop
 * shows its visits instead, the attempts in the tooltip; the badge turns amber once anything was retried). The shell carries data-testid/data-status for browser tests. */
import { Handle, Position, useStore, type NodeProps } from "@xyflow/react";
import { Ban, Check, Circle, Clock, Pause, Play, RotateCw, SkipForward, X, type LucideIcon } from "lucide-react";
import { memo } from "react";

import { COMPENSATE_HANDLE, FAILED_BRANCH } from "@/lib/graph";

import type { MonitorNode } from "./execution-state";

// SVG icons (lucide-react), not glyphs: Debian's chromium has no font for some (⏸ was an empty box).
const STATUS_ICON: Record<string, LucideIcon> = {
  pending: Circle, queued: Clock, running: Play, waiting: Pause, retrying: RotateCw, completed: Check, failed: X,
  skipped: SkipForward, cancelled: Ban,
};

function StatusIcon({ status }: { status: string }) {
  const Icon = STATUS_ICON[status] ?? Circle;
  return <Icon size={13} strokeWidth={3} data-icon={status} />;
}

/** Below this zoom a node is drawn as a coloured box with its name only (level of detail): its text and
 * icons are unreadable there, and a 500-step graph drew ~10,000 elements. */
export const LOD_ZOOM = 0.45;
const zoomedOut = (state: { transform: [number, number, number] }) => state.transform[2] < LOD_ZOOM;

export const MonitorStepNode = memo(function MonitorStepNode({ data, selected }: NodeProps<MonitorNode>) {
  const far = useStore(zoomedOut);
  const status = data.status ?? "pending";
  if (far) {
    return (
      <div className={`monitor-node monitor-node-far status-${status}${selected ? " monitor-node-selected" : ""}${data.compensation ? " monitor-node-compensation" : ""}`}
           data-testid={`monitor-node-${data.step.key}`} data-status={status} data-attempts={data.attempts ?? 0}
           data-visits={data.visits ?? 0} title={`${data.step.name || data.step.key}: ${status}`}>
        <Handle type="target" position={Position.Left} isConnectable={false} />
        <div className="monitor-node-name">{data.step.name || data.step.key}</div>
        <Handle type="source" position={Position.Right} isConnectable={false} />
        <Handle type="source" id={FAILED_BRANCH} position={Position.Bottom} isConnectable={false} className="fp-handle-failed" />
        {data.step.compensate_with && (
          <Handle type="source" id={COMPENSATE_HANDLE} position={Position.Top} isConnectable={false} className="fp-handle-compensate" />
        )}
      </div>
    );
  }
  const attempts = data.attempts ?? 0;
  const visits = data.visits ?? 0;
  const tally = `${attempts} attempt${attempts === 1 ? "" : "s"}${visits > 1 ? ` across ${visits} visits` : ""}`;
  return (
    <div className={`monitor-node status-${status}${selected ? " monitor-node-selected" : ""}${data.compensation ? " monitor-node-compensation" : ""}`}
         data-testid={`monitor-node-${data.step.key}`} data-status={status} data-attempts={attempts} data-visits={visits}
         title={`${data.step.name || data.step.key}: ${status}`}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="monitor-node-icon" aria-hidden="true"><StatusIcon status={status} /></span>
      <div className="monitor-node-text">
        <div className="monitor-node-name">{data.step.name || data.step.key}</div>
        <div className="monitor-node-meta">
          <span className="mono">{data.step.task_type}</span>
          <span className="monitor-node-status">{status}</span>
          {data.code?.start && <span className="monitor-node-start" title="The step a run starts at">start</span>}
          {data.compensation && <span className="monitor-node-compensation-mark" data-testid={`monitor-node-compensation-${data.step.key}`}
                                      title="Runs only as a compensation, undoing the step whose dashed violet link points here">compensation</span>}
          {data.edited && <span className="monitor-node-edited" data-testid={`monitor-node-edited-${data.step.key}`}
                                title="This run uses an edited config for this step (edit and resume)">edited</span>}
          {data.mocked && <span className="monitor-node-mocked" data-testid={`monitor-node-mocked-${data.step.key}`}
                                title="A replay's step answered from a mock or the original run's output: not run">mocked</span>}
        </div>
      </div>
      {attempts > 0 && (
        <span className={`monitor-node-attempts${attempts > Math.max(visits, 1) ? " monitor-node-attempts-many" : ""}`}
              data-testid={`monitor-node-attempts-${data.step.key}`} title={tally}>
          {visits > 1 ? `${visits} visits` : `×${attempts}`}
        </span>
      )}
      <Handle type="source" position={Position.Right} isConnectable={false} />
      {/* Where a compensation link leaves: above, as in the designer. */}
      {data.step.compensate_with && (
        <Handle type="source" id={COMPENSATE_HANDLE} position={Position.Top} isConnectable={false} className="fp-handle-compensate" />
      )}
      {/* Where a failure path's edge ("key:failed") leaves: below, red, as in the designer. */}
      <Handle type="source" id={FAILED_BRANCH} position={Position.Bottom} isConnectable={false} className="fp-handle-failed" />
    </div>
  );
});
