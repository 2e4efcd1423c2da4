/** Approve / Reject (with a comment) for a waiting approval step, or Send for a plain signal: used
 * by the Approvals page and the monitor's step panel. The server decides what is allowed (it answers
 * 409 for a step no longer waiting, 400 for a bad comment): the form shows what it said. */
import { Check, Send, X } from "lucide-react";
import { useId, useState } from "react";

import { useLimits } from "@/hooks/use-limits";
import { ApiError } from "@/lib/api";
import { toast } from "@/lib/toast";

import { useDecide } from "./queries";

interface DecisionFormProps {
  taskExecutionId: string;
  executionId: string;
  stepKey: string;
  kind: "approval" | "signal";
  compact?: boolean;
}

export function DecisionForm({ taskExecutionId, executionId, stepKey, kind, compact = false }: DecisionFormProps) {
  const [comment, setComment] = useState("");
  const decide = useDecide(taskExecutionId, executionId);
  const limits = useLimits();
  const maxLength = limits.data?.approval_comment?.max;
  const commentId = useId();
  const submit = (approved: boolean) => {
    decide.mutate({ approved, comment: comment.trim() }, {
      onSuccess: () => {
        toast(kind === "signal" ? `Signal sent to “${stepKey}”.` : `${approved ? "Approved" : "Rejected"} “${stepKey}”.`);
        setComment("");
      },
    });
  };
  const error = decide.error instanceof ApiError || decide.error instanceof Error ? decide.error.message : null;
  return (
    <form className={`decision-form${compact ? " decision-form-compact" : ""}`} data-testid={`decision-${stepKey}`}
          onSubmit={(event) => event.preventDefault()}>
      <label className="field" htmlFor={commentId}>
        <span>Comment <span className="muted">(optional, kept in the log)</span></span>
        <textarea id={commentId} value={comment} maxLength={maxLength} rows={compact ? 2 : 3}
                  placeholder={kind === "signal" ? "Why (optional)" : "Why you approve or reject (optional)"}
                  onChange={(event) => setComment(event.target.value)} disabled={decide.isPending} />
      </label>
      {error && <p className="form-error" role="alert">{error}</p>}
      <div className="btn-group">
        {kind === "approval" ? (
          <>
            <button type="button" className="btn btn-approve" disabled={decide.isPending} onClick={() => submit(true)}>
              <Check size={15} aria-hidden="true" /> Approve
            </button>
            <button type="button" className="btn btn-danger" disabled={decide.isPending} onClick={() => submit(false)}>
              <X size={15} aria-hidden="true" /> Reject
            </button>
          </>
        ) : (
          <button type="button" className="btn btn-primary" disabled={decide.isPending} onClick={() => submit(true)}>
            <Send size={15} aria-hidden="true" /> Send signal
          </button>
        )}
      </div>
    </form>
  );
}
