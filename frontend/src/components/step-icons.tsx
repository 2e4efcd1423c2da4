/** One icon per step type (lucide-react), by the type's name, else by its category; and one per
 * trigger kind. Icons are inline SVG: they render in any browser without a font. */
import {
  CalendarClock, Circle, Code, Database, FileText, GitBranch, Globe, Hash, Mail, Plug, Radio, Repeat, ScrollText,
  ShieldCheck, Shuffle, Split, Terminal, Timer, Webhook, Workflow, Wrench, Zap, Braces, type LucideIcon,
} from "lucide-react";

const BY_TYPE: Record<string, LucideIcon> = {
  http_request: Globe,
  send_email: Mail,
  slack: Hash,
  sql: Database,
  conditional: Split,
  data_transform: Shuffle,
  delay: Timer,
  file: FileText,
  log: ScrollText,
  python: Code,
  sub_workflow: Workflow,
  for_each: Repeat,
  wait_for_signal: Radio,
  approval: ShieldCheck,
};

const BY_CATEGORY: Record<string, LucideIcon> = {
  flow: GitBranch,
  integration: Plug,
  data: Braces,
  code: Terminal,
  utility: Wrench,
  trigger: Zap,
};

export const TRIGGER_ICONS = { webhook: Webhook, schedule: CalendarClock, event: Zap } satisfies Record<string, LucideIcon>;

/** The icon of a step type: its own, else its category's, else a plain circle. */
export function stepIcon(taskType: string, category?: string): LucideIcon {
  return BY_TYPE[taskType] ?? BY_CATEGORY[category ?? ""] ?? Circle;
}

export function StepIcon({ taskType, category, size = 16 }: { taskType: string; category?: string; size?: number }) {
  const Icon = stepIcon(taskType, category);
  return <Icon size={size} strokeWidth={2} aria-hidden="true" data-icon={taskType} />;
}
