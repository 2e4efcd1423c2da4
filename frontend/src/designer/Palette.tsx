/** The step types, grouped by category and searchable: drag one onto the canvas, or click to add it. */
import { memo, useMemo, useState, type DragEvent } from "react";

import { DRAG_MIME } from "@/hooks/use-palette-drop";
import { humanize } from "@/lib/schema-form";
import type { StepType } from "@/lib/types";

const CATEGORY_ORDER = ["trigger", "flow", "integration", "data", "code", "utility"];

interface PaletteProps {
  stepTypes: StepType[];
  disabled?: boolean;
  onAdd: (type: StepType) => void;
}

export const Palette = memo(function Palette({ stepTypes, disabled, onAdd }: PaletteProps) {
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

  return (
    <aside className="fp-palette" aria-label="Step types">
      <div className="fp-palette-search">
        <input type="search" placeholder="Search steps…" aria-label="Search steps" value={query}
               onChange={(e) => setQuery(e.target.value)} />
      </div>
      <div className="fp-palette-list">
        {groups.length === 0 && <p className="muted small fp-palette-empty">No step type matches “{query}”.</p>}
        {groups.map(([category, types]) => (
          <section key={category} className="fp-palette-group">
            <h3 className="fp-palette-category">{humanize(category)}</h3>
            {types.map((type) => (
              <button key={type.name} type="button" className={`fp-palette-item fp-cat-${type.category}`}
                      data-testid={`palette-${type.name}`} draggable={!disabled} disabled={disabled}
                      onDragStart={(e) => onDragStart(e, type)} onClick={() => onAdd(type)}
                      title={`${type.description}\nDrag onto the canvas, or click to add.`}>
                <span className="fp-palette-name">{humanize(type.name)}</span>
                <span className="fp-palette-desc">{type.description}</span>
              </button>
            ))}
          </section>
        ))}
      </div>
    </aside>
  );
});
