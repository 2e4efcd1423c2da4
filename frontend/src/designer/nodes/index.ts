/** The canvas's node types, at module scope so React Flow never sees a new object. */
import type { NodeTypes } from "@xyflow/react";

import { StepNode } from "./StepNode";
import { TriggerNode } from "./TriggerNode";

export const nodeTypes: NodeTypes = { step: StepNode, trigger: TriggerNode };
