/** A rule's notifications, newest first: firing or resolved, the measure, and what each channel answered. */
import { EmptyState, ErrorState, formatTime, Spinner, StatusBadge } from "@/components/ui";

import { useAlertEvents } from "./queries";
import { formatMeasure } from "./rule-form";
import type { AlertKind } from "./types";

export function RuleEvents({ ruleId, kind }: { ruleId: number; kind: AlertKind }) {
  const events = useAlertEvents(ruleId);
  if (events.isPending) return <Spinner label="Loading the history…" />;
  if (events.isError) return <ErrorState error={events.error} onRetry={() => events.refetch()} />;
  if (!events.data.length) return <EmptyState title="No incidents yet">When the rule fires or resolves, it is recorded here.</EmptyState>;
  return (
    <table className="table alert-events" aria-label="History">
      <thead>
        <tr><th>When</th><th>State</th><th>Value</th><th>Runs</th><th>Message</th><th>Deliveries</th></tr>
      </thead>
      <tbody>
        {events.data.map((event) => (
          <tr key={event.id}>
            <td>{formatTime(event.created_at)}</td>
            <td><StatusBadge status={event.state} /></td>
            <td>{formatMeasure(kind, event.value)}</td>
            <td>{event.runs ?? "—"}</td>
            <td className="alert-event-message">{event.message}</td>
            <td>
              {event.deliveries.length === 0 ? <span className="muted">none</span> : (
                <ul className="alert-deliveries">
                  {event.deliveries.map((delivery) => (
                    <li key={delivery.channel} className={delivery.ok ? "ok" : "failed"} title={delivery.error || undefined}>
                      {delivery.ok ? "✓" : "✗"} {delivery.type} · {delivery.target}{delivery.error ? `: ${delivery.error}` : ""}
                    </li>
                  ))}
                </ul>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
