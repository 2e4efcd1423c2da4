/** Template text ({{ expression }}, {% statement %}): what counts as a template, a syntax check of the
 * delimiters (the server parses the inside with Jinja), and the steps a template refers to. */

export function isTemplate(value: unknown): boolean {
  return typeof value === "string" && (value.includes("{{") || value.includes("{%"));
}

/** What is wrong with the delimiters of `text` (unclosed, stray or nested), or null. */
export function templateSyntaxError(text: string): string | null {
  const tokens = /\{\{|\}\}|\{%|%\}/g;
  let open: "{{" | "{%" | null = null;
  let openAt = 0;
  for (let match = tokens.exec(text); match; match = tokens.exec(text)) {
    const token = match[0];
    if (token === "{{" || token === "{%") {
      if (open) return `"${open}" at ${openAt + 1} is not closed before "${token}" at ${match.index + 1}`;
      open = token;
      openAt = match.index;
    } else {
      const expected = token === "}}" ? "{{" : "{%";
      if (open !== expected) {
        // "}}" after a "{%" block, or without any opening: a stray closing delimiter.
        return open ? `"${open}" at ${openAt + 1} is closed by "${token}"` : `"${token}" at ${match.index + 1} has no opening "${expected}"`;
      }
      const inside = text.slice(openAt + 2, match.index).trim();
      if (!inside) return `empty "${open} ${token}" at ${openAt + 1}`;
      open = null;
    }
  }
  return open ? `"${open}" at ${openAt + 1} is not closed` : null;
}

/** Every template syntax problem among the strings of a JSON value, by dotted path. */
export function templateErrors(value: unknown, path = ""): { path: string; message: string }[] {
  if (typeof value === "string") {
    const delimited = /\{\{|\}\}|\{%|%\}/.test(value);
    const message = delimited ? templateSyntaxError(value) : null;
    return message ? [{ path, message }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => templateErrors(item, `${path}[${i}]`));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => templateErrors(v, path ? `${path}.${k}` : k));
  }
  return [];
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
