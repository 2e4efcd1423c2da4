/** A version's frozen definition as editable steps: its nested retry settings become the flat
 * fields the designer edits. Versions published before positions were kept have none: steps that
 * still exist keep their place on the canvas, and when none do, the designer lays the graph out. */
import type { StepDefinition, WorkflowVersion } from "@/lib/types";

export function versionSteps(version: WorkflowVersion, current: Map<string, { x: number; y: number }>): StepDefinition[] {
  const frozen = version.definition.steps;
  const placed = frozen.every((s) => s.position || current.has(s.key));
  return frozen.map((s, index) => ({
    key: s.key,
    name: s.name ?? s.key,
    task_type: s.task_type,
    config: s.config ?? {},
    depends_on: s.depends_on ?? [],
    step_order: s.step_order ?? index,
    timeout_seconds: s.timeout_seconds ?? null,
    when: s.when ?? "",
    max_retries: s.retry?.max_retries ?? null,
    retry_base_delay: s.retry?.base_delay ?? null,
    retry_backoff_factor: s.retry?.backoff_factor ?? null,
    retry_max_delay: s.retry?.max_delay ?? null,
    position: placed ? (s.position ?? current.get(s.key)!) : { x: 0, y: 0 },
  }));
}
