/** An edge from a step back to itself (a code workflow's sleep: the step runs again), drawn as an arc
 * above the node from its right handle to its left one, with its label on top. */
import { BaseEdge, type EdgeProps, type EdgeTypes } from "@xyflow/react";
import { memo } from "react";

/** How far above the handles the curve reaches (its apex, where the label sits, is 3/4 of it). */
const RISE = 120;

export const LoopEdge = memo(function LoopEdge(props: EdgeProps) {
  const { sourceX, sourceY, targetX, targetY, id, label, markerEnd, style, labelStyle, labelShowBg, labelBgStyle,
    labelBgPadding, labelBgBorderRadius, interactionWidth } = props;
  const top = Math.min(sourceY, targetY) - RISE;
  const path = `M ${sourceX} ${sourceY} C ${sourceX + 70} ${top}, ${targetX - 70} ${top}, ${targetX} ${targetY}`;
  return (
    <BaseEdge id={id} path={path} markerEnd={markerEnd} style={style} label={label} labelX={(sourceX + targetX) / 2}
              labelY={top + RISE * 0.25} labelStyle={labelStyle} labelShowBg={labelShowBg} labelBgStyle={labelBgStyle}
              labelBgPadding={labelBgPadding} labelBgBorderRadius={labelBgBorderRadius} interactionWidth={interactionWidth} />
  );
});

/** The edge types of both canvases, at module scope so React Flow never sees a new object. */
export const edgeTypes: EdgeTypes = { loop: LoopEdge };
