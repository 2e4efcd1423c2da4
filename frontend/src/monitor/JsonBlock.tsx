/** Pretty JSON for inputs and outputs, with a copy button; long values scroll inside their box. */
import { toast } from "@/lib/toast";

export function prettyJson(value: unknown): string {
  if (value === undefined) return "";
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

export function JsonBlock({ value, label, empty = "—" }: { value: unknown; label: string; empty?: string }) {
  const text = prettyJson(value);
  const blank = value === null || value === undefined || text === "{}" || text === "[]" || text === '""';
  return (
    <section className="monitor-json">
      <div className="monitor-json-head">
        <h4>{label}</h4>
        {!blank && (
          <button type="button" className="btn btn-ghost btn-sm" onClick={() => {
            void navigator.clipboard?.writeText(text).then(() => toast(`${label} copied`), () => toast("Copy failed", "error"));
          }}>Copy</button>
        )}
      </div>
      {blank ? <p className="muted small monitor-json-empty">{empty}</p> : <pre className="monitor-json-body">{text}</pre>}
    </section>
  );
}
