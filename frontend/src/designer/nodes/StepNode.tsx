/** The designer's step node: the shared shell fed from the designer store (its step type, its
 * branches and the problems found on it). */
import { useUpdateNodeInternals, type NodeProps } from "@xyflow/react";
import { memo, useEffect, useMemo, useRef } from "react";

import { compensationStepsOf, type StepNode as StepNodeType } from "@/lib/graph";
import { preview } from "@/lib/pins";
import { isWarning, stepBranches } from "@/lib/validation";

import { useDesigner } from "../context";
import { useZoomedOut } from "../lod";
import { NodeShell, SimpleNodeShell } from "./NodeShell";

export const StepNode = memo(function StepNode({ id, data, selected }: NodeProps<StepNodeType>) {
  const { step } = data;
  const stepType = useDesigner((s) => s.stepTypes[step.task_type]);
  const issues = useDesigner((s) => s.issues[id]);
  const branches = useMemo(() => stepBranches(stepType, step.config ?? {}), [stepType, step.config]);
  const errors = useMemo(() => issues?.filter((i) => !isWarning(i)).map((i) => `${i.field}: ${i.message}`), [issues]);
  const warnings = useMemo(() => issues?.filter(isWarning).map((i) => `${i.field}: ${i.message}`), [issues]);
  const pin = useDesigner((s) => s.pins?.steps[id]);
  const compensation = useDesigner((s) => compensationStepsOf(s.nodes).has(id));
  // The "compensate" handle comes and goes with compensate_with: React Flow must measure it again
  // before the link can leave from it (the node's size does not change, so it would not notice).
  const compensated = !!step.compensate_with;
  const updateNodeInternals = useUpdateNodeInternals();
  const drawn = useRef(compensated);
  useEffect(() => {
    if (drawn.current === compensated) return;  // measured with it already (on mount, React Flow measures)
    drawn.current = compensated;
    updateNodeInternals(id);
  }, [compensated, id, updateNodeInternals]);
  if (useZoomedOut()) {
    return <SimpleNodeShell stepKey={id} category={stepType?.category} branches={branches} selected={selected}
                            status={data.status} errors={errors} warnings={warnings} compensation={compensation}
                            compensated={compensated} />;
  }
  const pinned = pin && ("output" in pin
    ? <span className="fp-node-pin" data-testid={`pin-${id}`} title={JSON.stringify(pin.output, null, 2)}><b>pinned</b> {preview(pin.output)}</span>
    : <span className="fp-node-pin fp-node-pin-input" data-testid={`pin-${id}`} title="Input pinned; no output (the step did not complete)"><b>pinned</b> input only</span>);
  const footer = data.code?.start || pinned
    ? <>{data.code?.start && <span className="fp-node-start">start</span>}{pinned}</> : undefined;
  return (
    <NodeShell stepKey={id} name={step.name} taskType={step.task_type} category={stepType?.category}
               branches={branches} selected={selected} status={data.status} errors={errors} warnings={warnings}
               footer={footer} compensation={compensation} compensated={compensated} />
  );
});
