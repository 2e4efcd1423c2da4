/** A horizontal bar chart in plain HTML/CSS: one labelled bar per row, scaled to the largest (or `max`). */
import type { ReactNode } from "react";

import { bars } from "./charts";

export interface BarRow {
  key: string;
  label: ReactNode;
  title?: string;
  value: number | null;
  text: string;
}

interface Props {
  title: string;
  rows: BarRow[];
  /** The value of a full bar (1 for rates); default the largest value. */
  max?: number;
  tone: "rate" | "duration";
  empty?: string;
}

export function BarChart({ title, rows, max, tone, empty = "No runs in this window." }: Props) {
  const laid = bars(rows, (row) => row.value, { max });
  return (
    <section className="card dash-chart" aria-label={title}>
      <div className="panel-title"><h3>{title}</h3></div>
      {rows.length === 0 ? (
        <p className="muted small dash-chart-empty">{empty}</p>
      ) : (
        <ul className="dash-bars">
          {laid.map(({ item, fraction }) => (
            <li key={item.key} className="dash-bar-row" title={item.title}>
              <span className="dash-bar-label">{item.label}</span>
              <span className="dash-bar-track">
                <span className={`dash-bar dash-bar-${tone}`} style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
              </span>
              <span className="dash-bar-value">{item.text}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** The small inline bar of a table cell (failure rate, 0..1). */
export function RateBar({ rate }: { rate: number | null }) {
  const width = rate === null ? 0 : Math.min(100, Math.max(rate > 0 ? 2 : 0, rate * 100));
  const level = rate === null ? "none" : rate >= 0.2 ? "high" : rate >= 0.05 ? "mid" : "low";
  return (
    <span className={`dash-ratebar dash-rate-${level}`} aria-hidden="true">
      <span style={{ width: `${width}%` }} />
    </span>
  );
}
