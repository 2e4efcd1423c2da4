/** Dropping a step type (or a trigger kind) from the palette onto the canvas: where (in flow
 * coordinates) and which. */
import { useReactFlow } from "@xyflow/react";
import { useCallback, type DragEvent } from "react";

import { NODE_HEIGHT, NODE_WIDTH } from "@/lib/graph";
import { TRIGGER_KINDS, type TriggerKind } from "@/lib/triggers";
import type { StepType } from "@/lib/types";

export const DRAG_MIME = "application/x-flowpilot-step-type";
/** A trigger kind dragged from the palette's Triggers group (webhook, schedule, event). */
export const TRIGGER_MIME = "application/x-flowpilot-trigger";

export function usePaletteDrop(
  stepTypes: Record<string, StepType>, onDrop: (type: StepType, position: { x: number; y: number }) => void,
  onDropTrigger?: (kind: TriggerKind, position: { x: number; y: number }) => void,
) {
  const { screenToFlowPosition } = useReactFlow();

  const onDragOver = useCallback((event: DragEvent) => {
    if (!event.dataTransfer.types.includes(DRAG_MIME) && !event.dataTransfer.types.includes(TRIGGER_MIME)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  }, []);

  const onDropEvent = useCallback((event: DragEvent) => {
    const kind = event.dataTransfer.getData(TRIGGER_MIME) as TriggerKind;
    if (onDropTrigger && TRIGGER_KINDS.includes(kind)) {
      event.preventDefault();
      const at = screenToFlowPosition({ x: event.clientX, y: event.clientY });
      onDropTrigger(kind, { x: Math.round(at.x - NODE_WIDTH / 2), y: Math.round(at.y - NODE_HEIGHT / 2) });
      return;
    }
    const name = event.dataTransfer.getData(DRAG_MIME);
    const type = stepTypes[name];
    if (!type) return;
    event.preventDefault();
    const point = screenToFlowPosition({ x: event.clientX, y: event.clientY });
    // The drop point is the middle of the new node.
    onDrop(type, { x: Math.round(point.x - NODE_WIDTH / 2), y: Math.round(point.y - NODE_HEIGHT / 2) });
  }, [stepTypes, screenToFlowPosition, onDrop, onDropTrigger]);

  return { onDragOver, onDrop: onDropEvent };
}
