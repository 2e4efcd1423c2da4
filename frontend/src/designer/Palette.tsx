/** The triggers and the step types, grouped by category and searchable: drag one onto the canvas, or
 * click to add it. */
import { memo, useMemo, useState, type DragEvent } from "react";

import { StepIcon, TRIGGER_ICONS } from "@/components/step-icons";
import { DRAG_MIME, TRIGGER_MIME } from "@/hooks/use-palette-drop";
import { humanize } from "@/lib/schema-form";
import { KIND_LABELS, TRIGGER_KINDS, type TriggerKind } from "@/lib/triggers";
import type { StepType } from "@/lib/types";

const CATEGORY_ORDER = ["trigger", "flow", "integration", "data", "code", "utility"];

interface PaletteProps {
  stepTypes: StepType[];
  disabled?: boolean;
  onAdd: (type: StepType) => void;
  /** Add a trigger (its panel opens to fill it in); absent where triggers cannot be added. */
  onAddTrigger?: (kind: TriggerKind) => void;
}

const TRIGGER_HINTS: Record<TriggerKind, string> = {
  webhook: "Start a run when a signed HTTP request arrives",
  schedule: "Start runs on a cron schedule, in a timezone",
  event: "Start a run when an event is emitted",
};

export const Palette = memo(function Palette({ stepTypes, disabled, onAdd, onAddTrigger }: PaletteProps) {
  const [query, setQuery] = useState("");
  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const shown = stepTypes.filter((t) => !q || `${t.name} ${t.description} ${t.category}`.toLowerCase().includes(q));
    const byCategory = new Map<string, StepType[]>();
    for (const type of shown) byCategory.set(type.category, [...(byCategory.get(type.category) ?? []), type]);
    const rank = (c: string) => (CATEGORY_ORDER.indexOf(c) + 1 || 99);
    return [...byCategory].sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
  }, [stepTypes, query]);

  const onDragStart = (event: DragEvent, type: StepType) => {
    event.dataTransfer.setData(DRAG_MIME, type.name);
    event.dataTransfer.setData("text/plain", type.name);
    event.dataTransfer.effectAllowed = "copy";
  };
  const onTriggerDragStart = (event: DragEvent, kind: TriggerKind) => {
    event.dataTransfer.setData(TRIGGER_MIME, kind);
    event.dataTransfer.setData("text/plain", kind);
    event.dataTransfer.effectAllowed = "copy";
  };
  const q = query.trim().toLowerCase();
  const triggerKinds = onAddTrigger
    ? TRIGGER_KINDS.filter((k) => !q || `${k} trigger ${TRIGGER_HINTS[k]}`.toLowerCase().includes(q)) : [];

  return (
    <aside className="fp-palette" aria-label="Step types">
      <div className="fp-palette-search">
        <input type="search" placeholder="Search steps…" aria-label="Search steps" value={query}
               onChange={(e) => setQuery(e.target.value)} />
      </div>
      <div className="fp-palette-list">
        {triggerKinds.length > 0 && (
          <section className="fp-palette-group">
            <h3 className="fp-palette-category">Triggers</h3>
            {triggerKinds.map((kind) => {
              const Icon = TRIGGER_ICONS[kind];
              return (
                <button key={kind} type="button" className="fp-palette-item fp-cat-trigger" data-testid={`palette-trigger-${kind}`}
                        draggable={!disabled} disabled={disabled} onDragStart={(e) => onTriggerDragStart(e, kind)}
                        onClick={() => onAddTrigger?.(kind)} title={`${TRIGGER_HINTS[kind]}\nDrag onto the canvas, or click to add.`}>
                  <span className="fp-palette-name"><Icon size={14} aria-hidden="true" /> {KIND_LABELS[kind]} trigger</span>
                  <span className="fp-palette-desc">{TRIGGER_HINTS[kind]}</span>
                </button>
              );
            })}
          </section>
        )}
        {groups.length === 0 && triggerKinds.length === 0 && <p className="muted small fp-palette-empty">No step type matches “{query}”.</p>}
        {groups.map(([category, types]) => (
          <section key={category} className="fp-palette-group">
            <h3 className="fp-palette-category">{humanize(category)}</h3>
            {types.map((type) => (
              <button key={type.name} type="button" className={`fp-palette-item fp-cat-${type.category}`}
                      data-testid={`palette-${type.name}`} draggable={!disabled} disabled={disabled}
                      onDragStart={(e) => onDragStart(e, type)} onClick={() => onAdd(type)}
                      title={`${type.description}\nDrag onto the canvas, or click to add.`}>
                <span className="fp-palette-name"><StepIcon taskType={type.name} category={type.category} size={14} /> {humanize(type.name)}</span>
                <span className="fp-palette-desc">{type.description}</span>
              </button>
            ))}
          </section>
        ))}
      </div>
    </aside>
  );
});
