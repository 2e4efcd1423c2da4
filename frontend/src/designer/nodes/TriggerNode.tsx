/** A trigger's start node: what starts the workflow (webhook, schedule, event), left of the steps
 * that start a run, with only an outgoing handle. Test hooks: data-testid="trigger-node-<id|new>",
 * data-kind, data-enabled. */
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo } from "react";

import { TRIGGER_ICONS } from "@/components/step-icons";
import { KIND_LABELS, triggerSummary, type TriggerNode as TriggerNodeType } from "@/lib/triggers";

export const TriggerNode = memo(function TriggerNode({ data, selected }: NodeProps<TriggerNodeType>) {
  const { kind, trigger } = data;
  const Icon = TRIGGER_ICONS[kind];
  const enabled = trigger?.enabled ?? true;
  const classes = ["fp-node", "fp-trigger-node", selected && "selected", !trigger && "draft", !enabled && "paused"]
    .filter(Boolean).join(" ");
  return (
    <div className={classes} data-testid={`trigger-node-${trigger?.id ?? "new"}`} data-kind={kind}
         data-enabled={enabled ? "true" : "false"}>
      <div className="fp-node-icon" aria-hidden="true"><Icon size={16} /></div>
      <div className="fp-node-text">
        <div className="fp-node-name">{trigger?.name || KIND_LABELS[kind]}</div>
        <div className="fp-node-meta"><span>{triggerSummary(kind, trigger)}</span></div>
        <span className="fp-node-start">trigger</span>
      </div>
      <Handle type="source" position={Position.Right} className="fp-handle" isConnectable={false} />
    </div>
  );
});
