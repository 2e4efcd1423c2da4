/** Create a credential, or replace a credential's value (write-only: the old value is never shown,
 * and the new one is never shown back). The server checks the name and the value and says why it
 * refuses; its messages are shown by the fields. */
import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { createPortal } from "react-dom";

import { Dialog } from "@/designer/Dialog";
import { ApiError } from "@/lib/api";
import type { Credential } from "@/lib/types";

import { createCredential, refreshCredentials, replaceCredential } from "./queries";

interface Props {
  /** Replace this credential's value (and description); without it, create one. */
  credential?: Credential;
  /** A name to start with (a missing credential a step names). */
  suggestedName?: string;
  onClose: () => void;
  onSaved: (credential: Credential) => void;
}

const first = (fields: Record<string, unknown>, name: string): string | undefined => {
  const value = fields[name];
  return Array.isArray(value) ? String(value[0]) : value === undefined ? undefined : String(value);
};

export function CredentialDialog({ credential, suggestedName = "", onClose, onSaved }: Props) {
  const client = useQueryClient();
  const [name, setName] = useState(credential?.name ?? suggestedName);
  const [value, setValue] = useState("");
  const [description, setDescription] = useState(credential?.description ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; fields: Record<string, unknown> } | null>(null);
  const replacing = credential !== undefined;
  const formId = replacing ? `credential-replace-${credential.id}` : "credential-create";

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    event.stopPropagation(); // a form inside another's tree (the step editor): this one only
    setBusy(true);
    setError(null);
    try {
      const saved = replacing
        ? await replaceCredential(credential.id, { value, description })
        : await createCredential({ name: name.trim(), value, description });
      setValue("");
      await refreshCredentials(client);
      onSaved(saved);
    } catch (err) {
      setError(err instanceof ApiError ? { message: err.message, fields: err.fields } : { message: String(err), fields: {} });
    } finally {
      setBusy(false);
    }
  };

  const fieldError = (field: string) => (error ? first(error.fields, field) : undefined);
  const general = error && !fieldError("name") && !fieldError("value") && !fieldError("description") ? error.message : null;

  return createPortal(
    <Dialog title={replacing ? `Replace the value of ${credential.name}` : "New credential"} onClose={onClose}
            footer={(
              <>
                <button type="button" className="btn" onClick={onClose}>Cancel</button>
                <button type="submit" form={formId} className="btn btn-primary" disabled={busy}>
                  {busy ? "Saving…" : replacing ? "Replace value" : "Create credential"}
                </button>
              </>
            )}>
      <form id={formId} className="credential-form" onSubmit={submit} autoComplete="off">
        {!replacing && (
          <div className={`field${fieldError("name") ? " invalid" : ""}`}>
            <label className="field-label" htmlFor={`${formId}-name`}>Name</label>
            <input id={`${formId}-name`} className="mono" value={name} maxLength={100} required spellCheck={false}
                   placeholder="crm_token" onChange={(e) => setName(e.target.value)} aria-invalid={!!fieldError("name") || undefined} />
            <div className="field-help">Steps name it: pick it in a step's form, or write <code>{"{{ secrets.NAME }}"}</code>.</div>
            {fieldError("name") && <p className="field-error" role="alert">{fieldError("name")}</p>}
          </div>
        )}
        <div className={`field${fieldError("value") ? " invalid" : ""}`}>
          <label className="field-label" htmlFor={`${formId}-value`}>{replacing ? "New value" : "Value"}</label>
          <input id={`${formId}-value`} type="password" value={value} required maxLength={65536}
                 autoComplete="new-password" onChange={(e) => setValue(e.target.value)} aria-invalid={!!fieldError("value") || undefined} />
          <div className="field-help">
            Stored encrypted and never shown again{replacing ? ": the old value is replaced" : ""}. Runs see it only in the
            steps that name it, and it is redacted from their outputs and logs.
          </div>
          {fieldError("value") && <p className="field-error" role="alert">{fieldError("value")}</p>}
        </div>
        <div className={`field${fieldError("description") ? " invalid" : ""}`}>
          <label className="field-label" htmlFor={`${formId}-description`}>Description</label>
          <input id={`${formId}-description`} value={description} maxLength={500} placeholder="What it is for (optional)"
                 onChange={(e) => setDescription(e.target.value)} />
          {fieldError("description") && <p className="field-error" role="alert">{fieldError("description")}</p>}
        </div>
        {general && <p className="field-error" role="alert">{general}</p>}
      </form>
    </Dialog>,
    document.body,
  );
}
