/** "Replay (dry run)": which version to replay on and optional mocks (outputs by step key). The server
 * decides which steps have side effects and answers them from the original run's outputs; this dialog only
 * collects the choice and shows what the server refuses (docs/adr/0026). */
import { useState } from "react";

import { parseMocks } from "@/lib/output-diff";
import type { ExecutionDetail } from "@/lib/types";

import { ConfirmDialog } from "./ConfirmDialog";

export type ReplayVersion = "original" | "latest" | number;

export interface ReplayRequest {
  version: ReplayVersion;
  mocks: Record<string, Record<string, unknown>>;
}

interface Props {
  execution: ExecutionDetail;
  /** The workflow's latest version's number, when known. */
  latest?: number;
  busy?: boolean;
  /** What the server refused, if it did. */
  error?: string | null;
  onReplay: (request: ReplayRequest) => void;
  onClose: () => void;
}

export function ReplayDialog({ execution, latest, busy, error, onReplay, onClose }: Props) {
  const [choice, setChoice] = useState<"original" | "latest" | "number">("original");
  const [number, setNumber] = useState(String(execution.workflow_version));
  const [mocksText, setMocksText] = useState("");
  const [problem, setProblem] = useState<string | null>(null);

  const submit = () => {
    const parsed = parseMocks(mocksText);
    if ("error" in parsed) return setProblem(`Mocks: ${parsed.error}`);
    let version: ReplayVersion = choice === "number" ? Number(number) : choice;
    if (choice === "number" && (!Number.isInteger(version) || (version as number) < 1)) {
      return setProblem("Version: a version's number (1, 2, …)");
    }
    if (version === execution.workflow_version && choice === "number") version = "original";
    setProblem(null);
    onReplay({ version, mocks: parsed.mocks });
  };

  return (
    <ConfirmDialog title="Replay as a dry run" confirmLabel="Replay" busy={busy} onConfirm={submit} onClose={onClose}>
      <p>
        A new run with this run's input. Steps with side effects (HTTP calls other than GET, emails, Slack, SQL writes,
        file writes, sub-workflows) are not run: they answer with this run's recorded output, or with the mock you give,
        and are marked <em>mocked</em>. The other steps run for real.
      </p>
      <fieldset className="fp-retry-version" aria-label="Version to replay">
        <legend>Version</legend>
        <label className="fp-retry-choice">
          <input type="radio" name="replay-version" checked={choice === "original"} onChange={() => setChoice("original")} />
          <span>This run's version (v{execution.workflow_version})</span>
        </label>
        <label className="fp-retry-choice">
          <input type="radio" name="replay-version" checked={choice === "latest"} onChange={() => setChoice("latest")} />
          <span>The latest version{latest ? ` (v${latest})` : ""}</span>
        </label>
        <label className="fp-retry-choice">
          <input type="radio" name="replay-version" checked={choice === "number"} onChange={() => setChoice("number")} />
          <span>Version <input type="number" min={1} className="fp-replay-number" aria-label="Version number" value={number}
                               onChange={(event) => { setNumber(event.target.value); setChoice("number"); }} /></span>
        </label>
      </fieldset>
      <label className="field">
        <span>Mocks (optional): outputs by step key</span>
        <textarea className="fp-json" rows={5} spellCheck={false} aria-label="Mocks" placeholder={'{"create_crm_entry": {"status_code": 201, "body": {"id": "c-1"}}}'}
                  value={mocksText} onChange={(event) => setMocksText(event.target.value)} />
      </label>
      {(problem ?? error) && <p className="field-error" role="alert">{problem ?? error}</p>}
    </ConfirmDialog>
  );
}
