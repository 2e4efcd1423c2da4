/** The "Limits" section of a step that calls hosts (its type's `calls_hosts`): its rate limit and its
 * concurrency limit (`limits.rate`, `limits.concurrency`; README "A step's limits and debounce"). The
 * server checks them (bounds, templates, names) and its 400's field errors are shown at each field. */
import { issuesAt, type Issue } from "@/lib/validation";

type Part = Record<string, unknown>;
export type StepLimitsValue = { rate?: Part; concurrency?: Part; [other: string]: unknown };

const RATE_FIELDS: { name: string; label: string; number: boolean; help?: string }[] = [
  { name: "limit", label: "Calls", number: true, help: "at most this many" },
  { name: "per_seconds", label: "Per seconds", number: true },
  { name: "burst", label: "Burst", number: true, help: "1: evenly spaced" },
  { name: "key", label: "Rate key", number: false, help: "e.g. {{ input.region }}" },
  { name: "name", label: "Rate shared name", number: false, help: "e.g. sms-provider" },
];
const CONCURRENCY_FIELDS: typeof RATE_FIELDS = [
  { name: "max", label: "At once", number: true, help: "at most this many" },
  { name: "key", label: "Concurrency key", number: false, help: "e.g. {{ input.account }}" },
  { name: "name", label: "Concurrency shared name", number: false, help: "e.g. crm" },
];

/** The value with `part.field` set (a part left empty is dropped; no parts: {}). */
export function withLimit(value: StepLimitsValue | undefined, part: "rate" | "concurrency", field: string,
                          text: string, number: boolean): StepLimitsValue {
  const current: Part = { ...((value?.[part] as Part | undefined) ?? {}) };
  if (text.trim() === "") {
    delete current[field];
  } else {
    const parsed = number ? Number(text) : text;
    current[field] = number && Number.isNaN(parsed) ? text : parsed;
  }
  const next: StepLimitsValue = { ...(value ?? {}) };
  if (Object.keys(current).length) next[part] = current;
  else delete next[part];
  return next;
}

export function StepLimits({ value, issues, idPrefix, disabled, onChange }: {
  value: StepLimitsValue | undefined; issues: Issue[]; idPrefix: string; disabled?: boolean;
  onChange: (value: StepLimitsValue) => void;
}) {
  const general = [...issuesAt(issues, "limits"), ...issuesAt(issues, "limits.rate"), ...issuesAt(issues, "limits.concurrency")];
  const shown = new Set(general);
  const section = (part: "rate" | "concurrency", title: string, help: string, fields: typeof RATE_FIELDS) => (
    <fieldset className="fp-limits-part" aria-label={title}>
      <legend className="field-label">{title}</legend>
      <div className="field-help">{help}</div>
      <div className="fp-advanced-grid">
        {fields.map(({ name, label, number, help: placeholder }) => {
          const id = `${idPrefix}-limits-${part}-${name}`;
          const own = issuesAt(issues, `limits.${part}.${name}`);
          own.forEach((issue) => shown.add(issue));
          const current = (value?.[part] as Part | undefined)?.[name];
          return (
            <div key={name} className={`field${own.length ? " invalid" : ""}`}>
              <label className="field-label" htmlFor={id}>{label}</label>
              <input id={id} type={number ? "number" : "text"} className={number ? undefined : "mono"}
                     value={current === undefined || current === null ? "" : String(current)} placeholder={placeholder}
                     disabled={disabled} aria-invalid={own.length > 0 || undefined} spellCheck={false}
                     onChange={(e) => onChange(withLimit(value, part, name, e.target.value, number))} />
              {own.map((issue, i) => <p key={i} className="field-error" role="alert">{issue.message}</p>)}
            </div>
          );
        })}
      </div>
    </fieldset>
  );
  const rate = section("rate", "Rate limit", "Calls start at most this often, across all runs (delayed, never failed).", RATE_FIELDS);
  const concurrency = section("concurrency", "Concurrency limit", "At most this many calls at once, across all runs.", CONCURRENCY_FIELDS);
  // Whatever the server said about limits that no field above shows (an unknown part, say).
  const rest = issuesAt(issues, "limits", true).filter((issue) => !shown.has(issue));
  return (
    <div className="fp-step-limits" data-testid="step-limits">
      {[...general, ...rest].map((issue, i) => (
        <p key={i} className="field-error" role="alert">{issue.field}: {issue.message}</p>
      ))}
      {rate}
      {concurrency}
    </div>
  );
}
