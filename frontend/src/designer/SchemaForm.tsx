/** A form generated from a JSON Schema: text (one line or a textarea), numbers, checkboxes, selects
 * for enums, fieldsets for objects, list editors for arrays, a JSON textarea for anything else; a
 * field that takes a typed value can hold an expression ({{ ... }}) instead; a structured condition
 * gets a builder (ConditionBuilder), switchable to an expression; a field the schema marks
 * `format: "credential"` is a picker of the user's credentials (CredentialPicker). Required markers,
 * descriptions as help, defaults as placeholders, each field's problems (and warnings) next to it,
 * and an optional group (an object not required) can be removed whole. */
import { memo, useEffect, useRef, useState } from "react";

import { isConditionSchema } from "@/lib/condition";
import { CredentialPicker } from "@/credentials/CredentialPicker";
import {
  allowsExpression, defaultsFor, emptyValue, fieldKind, fieldTitle, isPlainObject, isRemovableGroup, joinPath, schemaTypes,
  withProperty, type FieldKind,
} from "@/lib/schema-form";
import type { JsonSchema } from "@/lib/types";
import { issuesAt, isWarning, type Issue } from "@/lib/validation";

import { ConditionBuilder } from "./ConditionBuilder";
import { TemplateInput } from "./TemplateInput";

interface FormContext {
  idPrefix: string;
  issues: Issue[];
  disabled?: boolean;
}

export interface SchemaFormProps {
  schema: JsonSchema;
  value: Record<string, unknown>;
  onChange: (value: Record<string, unknown>) => void;
  /** Problems with fields named from `path` ("config.url", "config.auth.type"...). */
  issues?: Issue[];
  path?: string;
  idPrefix?: string;
  disabled?: boolean;
}

export const SchemaForm = memo(function SchemaForm({ schema, value, onChange, issues = [], path = "config", idPrefix = "f", disabled }: SchemaFormProps) {
  const ctx: FormContext = { idPrefix, issues, disabled };
  const own = issuesAt(issues, path);
  const hasProperties = Object.keys(schema.properties ?? {}).length > 0;
  return (
    <div className="fp-schema-form">
      <FieldErrors issues={own} />
      {hasProperties ? (
        <ObjectFields schema={schema} value={value} onChange={onChange} path={path} ctx={ctx} />
      ) : (
        <Field name={path} schema={{ ...schema, title: schema.title ?? "Config" }} value={value} required path={path} ctx={ctx}
               onChange={(v) => onChange(isPlainObject(v) ? v : {})} />
      )}
    </div>
  );
});

function ObjectFields({ schema, value, onChange, path, ctx }: {
  schema: JsonSchema; value: Record<string, unknown>; onChange: (v: Record<string, unknown>) => void; path: string; ctx: FormContext;
}) {
  const required = new Set([...(schema.required ?? []), ...(schema.oneOf?.length === 1 ? schema.oneOf[0].required ?? [] : [])]);
  const properties = Object.entries(schema.properties ?? {});
  // Values the schema does not describe stay visible (the server will name them), as JSON.
  const extra = Object.keys(value).filter((name) => !schema.properties?.[name]);
  return (
    <>
      {properties.map(([name, property]) => (
        <Field key={name} name={name} schema={property} value={value[name]} required={required.has(name)}
               path={joinPath(path, name)} ctx={ctx} onChange={(v) => onChange(withProperty(value, name, v))} />
      ))}
      {extra.map((name) => (
        <Field key={name} name={name} schema={{}} value={value[name]} path={joinPath(path, name)} ctx={ctx}
               onChange={(v) => onChange(withProperty(value, name, v))} />
      ))}
    </>
  );
}

function FieldErrors({ issues }: { issues: Issue[] }) {
  if (!issues.length) return null;
  return (
    <>
      {issues.map((issue, i) => isWarning(issue) ? (
        <p key={i} className="field-warning" role="status">{issue.message}</p>
      ) : (
        <p key={i} className="field-error" role="alert">{issue.message}</p>
      ))}
    </>
  );
}

const fieldId = (ctx: FormContext, path: string) => `${ctx.idPrefix}-${path.replace(/[^A-Za-z0-9_-]/g, "_")}`;

interface FieldProps {
  name: string;
  schema: JsonSchema;
  value: unknown;
  required?: boolean;
  path: string;
  ctx: FormContext;
  onChange: (value: unknown) => void;
}

function Field({ name, schema, value, required, path, ctx, onChange }: FieldProps) {
  const baseKind = fieldKind(schema, value, name);
  const [mode, setMode] = useState<"fixed" | "expression">(baseKind === "expression" ? "expression" : "fixed");
  const stringy = schemaTypes(schema).includes("string");
  const kind: FieldKind =
    baseKind === "expression" || (mode === "expression" && !stringy && (value === undefined || typeof value === "string"))
      ? "expression" : baseKind;
  const id = fieldId(ctx, path);
  const title = fieldTitle(name, schema);
  const own = issuesAt(ctx.issues, path);
  const helpId = schema.description ? `${id}-help` : undefined;
  const invalid = own.some((issue) => !isWarning(issue));
  const warned = !invalid && own.length > 0;
  const removable = !ctx.disabled && isRemovableGroup(kind, value, required);
  const canToggle = allowsExpression(baseKind) || (kind === "expression" && !!schemaTypes(schema).length);
  // A condition switches between its builder and an expression, each side kept for switching back.
  const condition = isConditionSchema(schema);
  const other = useRef<{ builder?: unknown; expression?: unknown }>({});

  const toggle = () => {
    if (condition) {
      if (kind === "expression") {
        other.current.expression = value;
        setMode("fixed");
        onChange(isPlainObject(other.current.builder) ? other.current.builder : undefined);
      } else {
        other.current.builder = value;
        setMode("expression");
        onChange(typeof other.current.expression === "string" ? other.current.expression : "");
      }
      return;
    }
    if (kind === "expression") {
      setMode("fixed");
      onChange(undefined);
    } else {
      setMode("expression");
      onChange(value === undefined ? "" : `{{ ${JSON.stringify(value)} }}`);
    }
  };

  const grouped = kind === "object" || kind === "objectList" || kind === "list" || kind === "condition";
  const fixedName = condition ? "Builder" : "Fixed";
  const header = (
    <div className="fp-field-head">
      {grouped ? (
        <span className="field-label" id={`${id}-label`}>{title}</span>
      ) : (
        <label className="field-label" htmlFor={id}>{title}</label>
      )}
      {required && <span className="fp-required" title="Required">*</span>}
      {canToggle && !ctx.disabled && (
        <button type="button" className="fp-mode" onClick={toggle}
                title={kind === "expression" ? (condition ? "Pick a field, an operator and a value" : "Use a fixed value")
                  : "Use an expression ({{ … }}) evaluated when the step runs"}>
          {kind === "expression" ? fixedName : "Expression"}
        </button>
      )}
      {removable && (
        <button type="button" className="fp-mode fp-remove-group" onClick={() => onChange(undefined)}
                aria-label={`Remove ${title}`} title={`Remove ${title}: this optional group is left out`}>
          Remove
        </button>
      )}
    </div>
  );

  return (
    <div className={`field fp-field fp-field-${kind}${invalid ? " invalid" : ""}${warned ? " warned" : ""}`} data-field={path}>
      {header}
      <Control kind={kind} id={id} name={name} schema={schema} value={value} required={required} path={path}
               ctx={ctx} onChange={onChange} helpId={helpId} invalid={invalid} />
      {schema.description && <div className="field-help" id={helpId}>{schema.description}</div>}
      <FieldErrors issues={own} />
    </div>
  );
}

interface ControlProps extends FieldProps {
  kind: FieldKind;
  id: string;
  helpId?: string;
  invalid: boolean;
}

function placeholderOf(schema: JsonSchema): string | undefined {
  if (schema.default !== undefined && schema.default !== "") return `Default: ${JSON.stringify(schema.default)}`;
  if (Array.isArray(schema.examples) && schema.examples.length) return `e.g. ${String(schema.examples[0])}`;
  return undefined;
}

function Control({ kind, id, schema, value, required, path, ctx, onChange, helpId, invalid }: ControlProps) {
  const aria = { "aria-describedby": helpId, "aria-invalid": invalid || undefined, disabled: ctx.disabled };
  switch (kind) {
    case "string":
    case "text":
    case "expression":
      return (
        <TemplateInput id={id} multiline={kind === "text"} rows={kind === "text" ? 4 : undefined}
                       value={typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value)}
                       placeholder={kind === "expression" ? "{{ … }}" : placeholderOf(schema)} {...aria}
                       onChange={(text) => onChange(text === "" && !required && kind !== "expression" ? undefined : text)} />
      );
    case "number":
    case "integer":
      return <NumberInput id={id} value={value} integer={kind === "integer"} schema={schema} onChange={onChange} aria={aria} />;
    case "boolean":
      return (
        <label className="fp-check">
          <input id={id} type="checkbox" checked={value === undefined ? schema.default === true : value === true}
                 onChange={(e) => onChange(e.target.checked)} {...aria} />
          <span className="muted small">{value === undefined ? "default" : value ? "yes" : "no"}</span>
        </label>
      );
    case "enum": {
      const options = schema.enum ?? [];
      const index = options.findIndex((o) => o === value);
      return (
        <select id={id} value={index < 0 ? "" : String(index)} {...aria}
                onChange={(e) => onChange(e.target.value === "" ? undefined : options[Number(e.target.value)])}>
          {(!required || index < 0) && (
            <option value="">{schema.default !== undefined ? `Default (${String(schema.default)})` : "— choose —"}</option>
          )}
          {options.map((option, i) => (
            <option key={i} value={String(i)}>{String(option)}</option>
          ))}
        </select>
      );
    }
    case "object":
      return (
        <fieldset className="fp-fieldset" aria-labelledby={`${id}-label`} disabled={ctx.disabled}>
          <ObjectFields schema={schema} value={isPlainObject(value) ? value : {}} path={path} ctx={ctx}
                        onChange={(v) => onChange(Object.keys(v).length ? v : undefined)} />
        </fieldset>
      );
    case "credential":
      return <CredentialPicker id={id} value={typeof value === "string" ? value : undefined} onChange={onChange} {...aria} />;
    case "condition":
      return <ConditionBuilder id={id} schema={schema} value={value} path={path} issues={ctx.issues} disabled={ctx.disabled}
                               onChange={onChange} />;
    case "list":
      return <ListEditor id={id} schema={schema} value={Array.isArray(value) ? value : []} onChange={onChange} path={path} ctx={ctx} />;
    case "objectList":
      return <ObjectListEditor id={id} schema={schema} value={Array.isArray(value) ? value : []} onChange={onChange} path={path} ctx={ctx} />;
    default:
      return <JsonInput id={id} value={value} onChange={onChange} aria={aria} />;
  }
}

function NumberInput({ id, value, integer, schema, onChange, aria }: {
  id: string; value: unknown; integer: boolean; schema: JsonSchema; onChange: (v: unknown) => void; aria: object;
}) {
  return (
    <input id={id} type="number" inputMode={integer ? "numeric" : "decimal"} step={integer ? 1 : "any"}
           min={schema.minimum} max={schema.maximum} placeholder={placeholderOf(schema)}
           value={typeof value === "number" ? value : ""} {...aria}
           onChange={(e) => {
             const text = e.target.value;
             if (text === "") onChange(undefined);
             else if (!Number.isNaN(Number(text))) onChange(integer ? Math.trunc(Number(text)) : Number(text));
           }} />
  );
}

function ListEditor({ id, schema, value, onChange, path, ctx }: {
  id: string; schema: JsonSchema; value: unknown[]; onChange: (v: unknown) => void; path: string; ctx: FormContext;
}) {
  const items = schema.items ?? {};
  const numeric = schemaTypes(items).some((t) => t === "number" || t === "integer");
  const set = (i: number, item: unknown) => onChange(value.map((old, j) => (j === i ? item : old)));
  const remove = (i: number) => {
    const next = value.filter((_, j) => j !== i);
    onChange(next.length ? next : undefined);
  };
  return (
    <div className="fp-list" role="group" aria-labelledby={`${id}-label`}>
      {value.map((item, i) => {
        const itemIssues = issuesAt(ctx.issues, joinPath(path, i));
        return (
          <div key={i} className="fp-list-row">
            {numeric ? (
              <NumberInput id={i === 0 ? id : `${id}-${i}`} value={item} integer={schemaTypes(items).includes("integer")} schema={items}
                           onChange={(v) => set(i, v ?? 0)} aria={{ "aria-label": `Item ${i + 1}`, disabled: ctx.disabled }} />
            ) : schemaTypes(items).includes("boolean") ? (
              <input type="checkbox" aria-label={`Item ${i + 1}`} checked={item === true} onChange={(e) => set(i, e.target.checked)} disabled={ctx.disabled} />
            ) : (
              <TemplateInput id={i === 0 ? id : `${id}-${i}`} aria-label={`Item ${i + 1}`} value={typeof item === "string" ? item : JSON.stringify(item)}
                             onChange={(text) => set(i, text)} disabled={ctx.disabled} aria-invalid={itemIssues.length > 0 || undefined} />
            )}
            {!ctx.disabled && (
              <button type="button" className="btn btn-ghost btn-sm" aria-label={`Remove item ${i + 1}`} onClick={() => remove(i)}>✕</button>
            )}
            <FieldErrors issues={itemIssues} />
          </div>
        );
      })}
      {!ctx.disabled && (
        <button type="button" className="btn btn-sm fp-add" onClick={() => onChange([...value, emptyValue(items)])}>+ Add item</button>
      )}
    </div>
  );
}

function ObjectListEditor({ id, schema, value, onChange, path, ctx }: {
  id: string; schema: JsonSchema; value: unknown[]; onChange: (v: unknown) => void; path: string; ctx: FormContext;
}) {
  const items = schema.items ?? {};
  const title = items.title ?? "Item";
  return (
    <div className="fp-list" role="group" aria-labelledby={`${id}-label`}>
      {value.map((item, i) => {
        const itemPath = joinPath(path, i);
        return (
          <fieldset key={i} className="fp-fieldset fp-list-object" disabled={ctx.disabled}>
            <legend>
              {title} {i + 1}
              {!ctx.disabled && (
                <button type="button" className="btn btn-ghost btn-sm" aria-label={`Remove ${title.toLowerCase()} ${i + 1}`}
                        onClick={() => {
                          const next = value.filter((_, j) => j !== i);
                          onChange(next.length ? next : undefined);
                        }}>✕</button>
              )}
            </legend>
            <FieldErrors issues={issuesAt(ctx.issues, itemPath)} />
            <ObjectFields schema={items} value={isPlainObject(item) ? item : {}} path={itemPath}
                          ctx={{ ...ctx, idPrefix: `${ctx.idPrefix}-${i}` }}
                          onChange={(v) => onChange(value.map((old, j) => (j === i ? v : old)))} />
          </fieldset>
        );
      })}
      {!ctx.disabled && (
        <button type="button" className="btn btn-sm fp-add" onClick={() => onChange([...value, defaultsFor(items)])}>
          + Add {title.toLowerCase()}
        </button>
      )}
    </div>
  );
}

/** A JSON textarea: the value changes only when the text parses; until then, the parse error shows. */
function JsonInput({ id, value, onChange, aria }: { id: string; value: unknown; onChange: (v: unknown) => void; aria: object }) {
  const format = (v: unknown) => (v === undefined ? "" : JSON.stringify(v, null, 2));
  const [text, setText] = useState(() => format(value));
  const [error, setError] = useState<string | null>(null);
  const emitted = useRef<unknown>(value);
  useEffect(() => {
    // A change from outside (undo, another version): show it.
    if (value !== emitted.current) {
      emitted.current = value;
      setText(format(value));
      setError(null);
    }
  }, [value]);
  return (
    <>
      <textarea id={id} className="fp-json" placeholder="JSON, e.g. { &quot;key&quot;: &quot;value&quot; }" rows={Math.min(12, Math.max(3, text.split("\n").length))} value={text}
                spellCheck={false} {...aria} aria-invalid={error ? true : undefined}
                onChange={(e) => {
                  const next = e.target.value;
                  setText(next);
                  if (!next.trim()) {
                    setError(null);
                    emitted.current = undefined;
                    onChange(undefined);
                    return;
                  }
                  try {
                    const parsed = JSON.parse(next);
                    setError(null);
                    emitted.current = parsed;
                    onChange(parsed);
                  } catch (err) {
                    setError(`Not valid JSON: ${(err as Error).message}`);
                  }
                }} />
      {error && <p className="field-error" role="alert">{error}</p>}
    </>
  );
}
