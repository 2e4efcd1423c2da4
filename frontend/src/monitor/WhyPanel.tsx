/** "Why isn't it running?": the server's reasons for the run and its waiting steps (the run page's panel),
 * and one step's reason (the step panel's line). */
import { Link } from "react-router";

import type { ExecutionWhy, WhyReason } from "@/lib/types";

import { REASON_LABELS, shortRun, untilText } from "./why";

export function WhyPanel({ why }: { why: ExecutionWhy }) {
  const reasons = why.reasons.filter((reason) => reason.reason !== "running");
  return (
    <section className="card monitor-why" aria-label="Why isn't it running?" data-testid="why-panel">
      <h3>Why isn't it running?</h3>
      <ul className="monitor-why-list">
        {reasons.map((reason) => (
          <li key={`${reason.step_key ?? ""}:${reason.reason}`} data-testid={`why-${reason.step_key ?? "run"}`}>
            <span className="mono">{reason.step_key ?? "Run"}</span>{" "}
            <ReasonText reason={reason} />
          </li>
        ))}
      </ul>
    </section>
  );
}

export function StepWhy({ reason }: { reason: WhyReason }) {
  return (
    <section className="monitor-why-step" data-testid="step-why">
      <ReasonText reason={reason} />
    </section>
  );
}

function ReasonText({ reason }: { reason: WhyReason }) {
  return (
    <>
      <strong className={`why-${reason.reason}`}>{REASON_LABELS[reason.reason] ?? reason.reason}</strong>
      {": "}
      <span>{reason.detail}</span>
      {reason.until && <span className="muted"> · until {untilText(reason.until)}</span>}
      {reason.runs.length > 0 && (
        <span className="muted">
          {" · "}
          {reason.runs.map((id, index) => (
            <span key={id}>{index > 0 && ", "}<Link to={`/executions/${id}`} title={id}>run {shortRun(id)}</Link></span>
          ))}
        </span>
      )}
    </>
  );
}
