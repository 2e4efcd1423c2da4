/** The pure half of the config form generator: which control a JSON Schema (and its current value)
 * gets, labels, defaults, and reading/writing a value at a path. The React half is
 * designer/SchemaForm.tsx. */
import { isConditionSchema } from "./condition";
import { isTemplate } from "./templates";
import type { JsonSchema } from "./types";

export type FieldKind =
  | "string" // one-line text input
  | "text" // textarea
  | "number"
  | "integer"
  | "boolean"
  | "enum" // select
  | "object" // nested fieldset of its properties
  | "list" // list editor of scalars
  | "objectList" // list of nested fieldsets
  | "json" // JSON textarea
  | "condition" // a structured condition's builder: field, operator, value
  | "credential" // a picker of the user's stored credentials (the schema's `format: "credential"`)
  | "expression"; // a template standing for a value of another type: "{{ input.amount > 100 }}"

const SCALARS = new Set(["string", "number", "integer", "boolean"]);
/** The server marks a field holding a stored credential's name with this format: the form never
 * guesses from a field's name. */
export const CREDENTIAL_FORMAT = "credential";
const LONG_FORMATS = new Set(["textarea", "multiline", "html", "markdown", "template", "code"]);
const LONG_NAMES = /(^|_)(body|html|message|text|template|content|description|query)$/i;

export function schemaTypes(schema: JsonSchema | undefined): string[] {
  if (!schema) return [];
  if (Array.isArray(schema.type)) return schema.type;
  if (typeof schema.type === "string") return [schema.type];
  if (schema.properties) return ["object"];
  if (schema.enum) return [...new Set(schema.enum.map(jsonType))];
  return [];
}

export function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The control for a field, from its schema and (for template values and unions) its value. */
export function fieldKind(schema: JsonSchema, value: unknown, name = ""): FieldKind {
  const types = schemaTypes(schema);
  const stringy = types.includes("string");
  if (schema.format === CREDENTIAL_FORMAT && (value === undefined || typeof value === "string")) return "credential";
  if (isTemplate(value) && !stringy) return "expression";
  if (isConditionSchema(schema) && (value === undefined || isPlainObject(value))) return "condition";
  if (schema.enum && (value === undefined || schema.enum.some((option) => option === value))) return "enum";
  if (types.includes("array") && (Array.isArray(value) || !stringy)) {
    const items = schema.items ?? {};
    const itemTypes = schemaTypes(items);
    if (itemTypes.length === 1 && SCALARS.has(itemTypes[0]) && !items.enum) return "list";
    if (itemTypes.length === 1 && itemTypes[0] === "object" && items.properties) return "objectList";
    return "json";
  }
  // A union with string (a file's content: text, or any JSON value): a value that is not a string is
  // edited as JSON, so that an object stays an object.
  if (stringy && types.length > 1 && value !== undefined && value !== null && typeof value !== "string") return "json";
  if (stringy) {
    const long = (schema.format && LONG_FORMATS.has(schema.format)) || (schema.maxLength ?? 0) > 1000 ||
      LONG_NAMES.test(name) || (typeof value === "string" && (value.includes("\n") || value.length > 60));
    return long ? "text" : "string";
  }
  if (types.length === 1) {
    const [type] = types;
    if (type === "number" || type === "integer" || type === "boolean") return type;
    if (type === "object" && schema.properties && !isPlainObject(schema.additionalProperties)) {
      return value === undefined || isPlainObject(value) ? "object" : "json";
    }
  }
  // Untyped or free-form: a string is an expression, anything else JSON.
  return typeof value === "string" ? "expression" : "json";
}

/** Whether a field may switch to an expression (a template standing for the value). */
export function allowsExpression(kind: FieldKind): boolean {
  // A credential is named, never computed: the server refuses a template there.
  return kind !== "string" && kind !== "text" && kind !== "expression" && kind !== "credential";
}

export function humanize(name: string): string {
  const words = name.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function fieldTitle(name: string, schema: JsonSchema): string {
  return schema.title || humanize(name);
}

/** The properties' declared defaults, as a new object (for a new list item, and a new step's config:
 * never the type's `example`, which names example hosts and credentials). */
export function defaultsFor(schema: JsonSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (property.default !== undefined) out[name] = structuredClone(property.default);
  }
  return out;
}

/** An empty value of the schema's type (a new scalar list item, a new object). */
export function emptyValue(schema: JsonSchema): unknown {
  if (schema.default !== undefined) return structuredClone(schema.default);
  if (schema.enum?.length) return schema.enum[0];
  const [type] = schemaTypes(schema);
  if (type === "number" || type === "integer") return 0;
  if (type === "boolean") return false;
  if (type === "object") return defaultsFor(schema);
  if (type === "array") return [];
  return "";
}

/** `object` with `name` set to `value`; `undefined` removes the key (so configs stay minimal). */
export function withProperty(object: Record<string, unknown> | undefined, name: string, value: unknown) {
  const next = { ...(object ?? {}) };
  if (value === undefined) delete next[name];
  else next[name] = value;
  return next;
}

/** Dotted paths with [i] indexes: "auth.type", "cases[0].when". */
export function joinPath(base: string, name: string | number): string {
  if (typeof name === "number") return `${base}[${name}]`;
  return base ? `${base}.${name}` : name;
}

/** Whether an object field is an optional group the user may remove (a value set, and not required). */
export function isRemovableGroup(kind: FieldKind, value: unknown, required: boolean | undefined): boolean {
  return kind === "object" && !required && isPlainObject(value) && Object.keys(value).length > 0;
}
