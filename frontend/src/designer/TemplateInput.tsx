/** A text input (or textarea) that offers completions after `{{`: the run's input, upstream
 * outputs, secrets. Arrow keys move, Enter/Tab insert, Escape closes; a click inserts too. */
import { createContext, useContext, useId, useRef, useState, type KeyboardEvent, type InputHTMLAttributes } from "react";

import { applySuggestion, filterSuggestions, templateContext, type Suggestion } from "@/lib/template-hints";

export const HintsContext = createContext<Suggestion[]>([]);

interface TemplateInputProps extends Omit<InputHTMLAttributes<HTMLInputElement & HTMLTextAreaElement>, "value" | "onChange"> {
  value: string;
  onChange: (value: string) => void;
  multiline?: boolean;
  rows?: number;
}

type Field = HTMLInputElement | HTMLTextAreaElement;

export function TemplateInput({ value, onChange, multiline, rows = 3, onKeyDown, onBlur, ...rest }: TemplateInputProps) {
  const hints = useContext(HintsContext);
  const ref = useRef<Field | null>(null);
  const listId = useId();
  const [context, setContext] = useState<{ start: number; query: string } | null>(null);
  const [active, setActive] = useState(0);
  const shown = context ? filterSuggestions(hints, context.query) : [];
  const open = shown.length > 0;

  const refresh = (field: Field) => {
    const caret = field.selectionStart ?? field.value.length;
    const next = templateContext(field.value, caret);
    setContext((prev) => (prev?.start === next?.start && prev?.query === next?.query ? prev : next));
    if (!next || next.query !== context?.query) setActive(0);
  };

  const insert = (suggestion: Suggestion) => {
    if (!context) return;
    const result = applySuggestion(value, context, suggestion.value);
    onChange(result.text);
    const keepOpen = suggestion.value.endsWith(".");
    setContext(keepOpen ? { start: result.caret - suggestion.value.length, query: suggestion.value } : null);
    requestAnimationFrame(() => {
      const field = ref.current;
      if (!field) return;
      field.focus();
      field.setSelectionRange(result.caret, result.caret);
    });
  };

  const keyDown = (event: KeyboardEvent<Field>) => {
    if (open) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        setActive((i) => (i + (event.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length);
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        insert(shown[Math.min(active, shown.length - 1)]);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        setContext(null);
        return;
      }
    }
    onKeyDown?.(event as KeyboardEvent<HTMLInputElement & HTMLTextAreaElement>);
  };

  const common = {
    ...rest,
    value,
    role: "combobox",
    "aria-autocomplete": "list" as const,
    "aria-expanded": open,
    "aria-controls": open ? listId : undefined,
    spellCheck: false,
    onChange: (event: { target: Field }) => {
      onChange(event.target.value);
      refresh(event.target);
    },
    onKeyDown: keyDown,
    onKeyUp: (event: KeyboardEvent<Field>) => {
      if (event.key === "ArrowLeft" || event.key === "ArrowRight" || event.key === "Home" || event.key === "End") refresh(event.currentTarget);
    },
    onClick: (event: { currentTarget: Field }) => refresh(event.currentTarget),
    onBlur: (event: React.FocusEvent<HTMLInputElement & HTMLTextAreaElement>) => {
      setContext(null);
      onBlur?.(event);
    },
  };

  return (
    <div className="fp-template-input">
      {multiline ? (
        <textarea ref={(el) => { ref.current = el; }} rows={rows} {...common} />
      ) : (
        <input ref={(el) => { ref.current = el; }} type="text" {...common} />
      )}
      {open && (
        <ul className="fp-hints" id={listId} role="listbox" aria-label="Template values">
          {shown.map((s, i) => (
            <li key={s.value} role="option" aria-selected={i === active} className={i === active ? "active" : undefined}
                onMouseDown={(e) => {
                  e.preventDefault(); // keep the focus in the field
                  insert(s);
                }}
                onMouseEnter={() => setActive(i)}>
              <code>{s.value}</code>
              <span className="fp-hint-detail">{s.detail}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
