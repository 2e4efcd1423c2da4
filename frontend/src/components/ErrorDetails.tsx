/** An error's stored details in full (lib/error-details.ts): an HTTP step's response status, headers
 * and body, and the rest; used by the monitor's step panel and the designer's "Test this step". */
import { errorView } from "@/lib/error-details";

export function ErrorDetails({ details }: { details: Record<string, unknown> | null | undefined }) {
  const view = errorView(details);
  const extra = Object.keys(view.extra).length ? JSON.stringify(view.extra, null, 2) : "";
  if (view.status === null && view.body === null && !view.headers.length && !extra) return null;
  return (
    <div className="fp-error-details" data-testid="error-details">
      {(view.status !== null || view.kind) && (
        <p className="small">
          {view.status !== null && <><strong>Response status</strong> <span className="mono" data-testid="error-status">{view.status}</span></>}
          {view.kind && <span className="muted"> · {view.kind}{view.retryable === false ? ", not retryable" : ""}</span>}
        </p>
      )}
      {view.body !== null && (
        <div>
          <h5>Response body</h5>
          <pre className="fp-pre fp-error-body" data-testid="error-body">{view.body || "(empty)"}</pre>
        </div>
      )}
      {view.headers.length > 0 && (
        <details>
          <summary>Response headers ({view.headers.length})</summary>
          <table className="fp-error-headers small">
            <tbody>{view.headers.map(([name, value]) => <tr key={name}><th className="mono">{name}</th><td className="mono">{value}</td></tr>)}</tbody>
          </table>
        </details>
      )}
      {extra && (
        <details>
          <summary>More details</summary>
          <pre className="fp-pre">{extra}</pre>
        </details>
      )}
    </div>
  );
}
