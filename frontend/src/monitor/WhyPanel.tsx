/** "Why isn't it running?": the server's reasons for the run and its waiting steps (the run page's panel),
 * and one step's reason (the step panel's line). */
import { Link } from "react-router";

import type { ExecutionWhy, WhyReason } from "@/lib/types";

import { detailParts, REASON_LABELS, shortRun, untilText } from "./why";

export function WhyPanel({ why }: { why: ExecutionWhy }) {
  const waiting = why.reasons.filter((reason) => reason.reason !== "running");
  // Steps that only wait for the ones above them add nothing while something else is listed: one line for them.
  const causes = waiting.filter((reason) => reason.reason !== "upstream");
  const shown = causes.length ? causes : waiting;
  const behind = causes.length ? waiting.filter((reason) => reason.reason === "upstream") : [];
  return (
    <section className="card monitor-why" aria-label="Why isn't it running?" data-testid="why-panel">
      <h3>Why isn't it running?</h3>
      <ul className="monitor-why-list">
        {shown.map((reason) => (
          <li key={`${reason.step_key ?? ""}:${reason.reason}`} data-testid={`why-${reason.step_key ?? "run"}`}>
            <span className="mono">{reason.step_key ?? "Run"}</span>{" "}
            <ReasonText reason={reason} />
          </li>
        ))}
        {behind.length > 0 && (
          <li className="muted" data-testid="why-upstream">
            {behind.length === 1 ? "1 more step waits" : `${behind.length} more steps wait`} for these:{" "}
            <span className="mono">{behind.map((reason) => reason.step_key).join(", ")}</span>
          </li>
        )}
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
      <span className={`why-tag why-${reason.reason}`}>{REASON_LABELS[reason.reason] ?? reason.reason}</span>{" "}
      <span>
        {detailParts(reason).map((part, index) =>
          "run" in part ? <Link key={index} to={`/executions/${part.run}`} title={part.run}>{shortRun(part.run)}</Link>
            : "time" in part ? <time key={index} dateTime={part.time}>{untilText(part.time)}</time>
              : <span key={index}>{part.text}</span>)}
      </span>
    </>
  );
}
