/** Template text ({{ expression }}, {% statement %}): what counts as a template, and renaming the
 * steps a template refers to. Whether a template parses is the server's to say (Jinja, at validate). */

export function isTemplate(value: unknown): boolean {
  return typeof value === "string" && (value.includes("{{") || value.includes("{%"));
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** `value` with every `steps.<from>` reference (in any string) renamed to `steps.<to>`. */
export function renameStepReferences<T>(value: T, from: string, to: string): T {
  const pattern = new RegExp(`(\\bsteps\\.)${escape(from)}\\b`, "g");
  const visit = (v: unknown): unknown => {
    if (typeof v === "string") return v.includes(`steps.${from}`) ? v.replace(pattern, `$1${to}`) : v;
    if (Array.isArray(v)) return v.map(visit);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x)]));
    return v;
  };
  return visit(value) as T;
}
