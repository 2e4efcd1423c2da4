/** The condition builder: a structured condition ({"field", "operator", "value"}) picked rather than
 * written. The operators are the schema's enum, the value is hidden for those that take none (the
 * schema's rules say which); the field offers the sample input's paths and upstream outputs. Its
 * field's toggle (SchemaForm) switches to an expression ({{ ... }}) and back. */
import { createContext, useContext, useEffect, useRef, useState } from "react";

import { operatorsOf, parseValue, takesValue, valueText, conditionWith } from "@/lib/condition";
import { fieldTitle, isPlainObject, joinPath } from "@/lib/schema-form";
import type { JsonSchema } from "@/lib/types";
import { issuesAt, type Issue } from "@/lib/validation";

/** The paths the builder's field suggests (StepEditor provides them: lib/condition's fieldSuggestions). */
export const ConditionFieldsContext = createContext<string[]>([]);

export interface ConditionBuilderProps {
  id: string;
  schema: JsonSchema;
  value: unknown;
  path: string;
  issues: Issue[];
  disabled?: boolean;
  onChange: (value: Record<string, unknown> | undefined) => void;
}

function Errors({ issues }: { issues: Issue[] }) {
  return (
    <>
      {issues.map((issue, i) => (
        <p key={i} className="field-error" role="alert">{issue.message}</p>
      ))}
    </>
  );
}

export function ConditionBuilder({ id, schema, value, path, issues, disabled, onChange }: ConditionBuilderProps) {
  const suggestions = useContext(ConditionFieldsContext);
  const condition = isPlainObject(value) ? value : {};
  const properties = schema.properties ?? {};
  const operators = operatorsOf(schema);
  const operator = typeof condition.operator === "string" ? condition.operator : undefined;
  const showValue = takesValue(schema, operator);
  const set = (name: "field" | "operator" | "value", next: unknown) => onChange(conditionWith(schema, value, name, next));
  const listId = `${id}-suggestions`;
  const part = (name: string) => {
    const own = issuesAt(issues, joinPath(path, name));
    return { id: `${id}-${name}`, own, aria: { "aria-invalid": own.length > 0 || undefined } };
  };
  const field = part("field");
  const op = part("operator");
  const val = part("value");
  return (
    <fieldset className="fp-fieldset fp-condition" aria-labelledby={`${id}-label`} disabled={disabled}
              data-testid="condition-builder">
      <div className="fp-condition-row">
        <div className={`field fp-condition-field${field.own.length ? " invalid" : ""}`}>
          <label className="field-label" htmlFor={field.id}>{fieldTitle("field", properties.field ?? {})}</label>
          <input id={field.id} className="mono" spellCheck={false} placeholder="e.g. customer.plan"
                 maxLength={properties.field?.maxLength}
                 list={suggestions.length ? listId : undefined} {...field.aria}
                 value={typeof condition.field === "string" ? condition.field : ""}
                 onChange={(e) => set("field", e.target.value)} />
          {suggestions.length > 0 && (
            <datalist id={listId}>
              {suggestions.map((s) => <option key={s} value={s} />)}
            </datalist>
          )}
          <Errors issues={field.own} />
        </div>
        <div className={`field fp-condition-operator${op.own.length ? " invalid" : ""}`}>
          <label className="field-label" htmlFor={op.id}>{fieldTitle("operator", properties.operator ?? {})}</label>
          <select id={op.id} value={operator ?? ""} {...op.aria}
                  onChange={(e) => set("operator", e.target.value === "" ? undefined : e.target.value)}>
            {!operator && <option value="">— choose —</option>}
            {operator && !operators.includes(operator) && <option value={operator}>{operator}</option>}
            {operators.map((o) => <option key={o} value={o}>{o}</option>)}
          </select>
          <Errors issues={op.own} />
        </div>
        {showValue && (
          <div className={`field fp-condition-value${val.own.length ? " invalid" : ""}`}>
            <label className="field-label" htmlFor={val.id}>{fieldTitle("value", properties.value ?? {})}</label>
            <ValueInput id={val.id} value={condition.value} aria={val.aria} onChange={(v) => set("value", v)} />
            <Errors issues={val.own} />
          </div>
        )}
      </div>
      {!showValue && condition.value !== undefined && (
        // Saved with a value the builder does not edit for this operator (exists with false: absent).
        <div className="field-help" data-testid="condition-kept-value">
          With the saved value <code>{valueText(condition.value)}</code>; choosing another operator edits it.
        </div>
      )}
      {showValue && (
        <div className="field-help">
          A value is read as JSON when it is JSON (100, true, ["a", "b"], "100"), as text otherwise.
        </div>
      )}
    </fieldset>
  );
}

/** The value as text; typing keeps the text as typed while the value it stands for changes. */
function ValueInput({ id, value, aria, onChange }: {
  id: string; value: unknown; aria: object; onChange: (value: unknown) => void;
}) {
  const [text, setText] = useState(() => valueText(value));
  const emitted = useRef<unknown>(value);
  useEffect(() => {
    // A change from outside (undo, another version): show it.
    if (JSON.stringify(value) !== JSON.stringify(emitted.current)) {
      emitted.current = value;
      setText(valueText(value));
    }
  }, [value]);
  return (
    <input id={id} className="mono" spellCheck={false} placeholder="e.g. pro, 100, [&quot;a&quot;, &quot;b&quot;]" value={text} {...aria}
           onChange={(e) => {
             const next = e.target.value;
             setText(next);
             emitted.current = parseValue(next);
             onChange(emitted.current);
           }} />
  );
}
