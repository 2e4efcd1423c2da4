/** The edge drawn zoomed out (lod.ts): a straight line, no label, arrow or wide hit area. */
import type { EdgeProps } from "@xyflow/react";
import { memo } from "react";

export const SimpleEdge = memo(function SimpleEdge({ id, sourceX, sourceY, targetX, targetY, style }: EdgeProps) {
  return <path id={id} className="react-flow__edge-path" d={`M${sourceX},${sourceY}L${targetX},${targetY}`} style={style} />;
});
