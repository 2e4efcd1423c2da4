/** /credentials: the user's stored credentials — name, description, when created and changed, and
 * which workflows use each (the server's `used_by`) — with create, replace the value (write-only) and
 * delete, which the server refuses (409, naming the workflows) while a workflow uses the credential. */
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";

import { EmptyState, ErrorState, formatTime, Spinner } from "@/components/ui";
import { formatAgo } from "@/dashboard/format";
import { ApiError } from "@/lib/api";
import { toast } from "@/lib/toast";
import type { Credential } from "@/lib/types";
import { ConfirmDialog } from "@/monitor/ConfirmDialog";

import { CredentialDialog } from "./CredentialDialog";
import { deleteCredential, refreshCredentials, useCredentials } from "./queries";

const message = (error: unknown) => (error instanceof ApiError || error instanceof Error ? error.message : String(error));

export function CredentialsPage() {
  const credentials = useCredentials();
  const client = useQueryClient();
  const [editing, setEditing] = useState<Credential | "new" | null>(null);
  const [deleting, setDeleting] = useState<Credential | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const remove = async () => {
    if (!deleting) return;
    setBusy(true);
    try {
      await deleteCredential(deleting.id);
      toast(`Deleted ${deleting.name}.`);
      setDeleting(null);
    } catch (error) {
      // The server's rule, in its words: a credential a workflow uses is not deleted.
      setRefusal(message(error));
    } finally {
      setBusy(false);
      void refreshCredentials(client);
    }
  };

  const list = credentials.data ?? [];
  return (
    <div className="page-body credentials-page">
      <div className="page-header">
        <h1>Credentials</h1>
        <span className="muted small">Secrets your steps use by name. Values are stored encrypted and never shown again.</span>
        <span className="spacer" />
        <button type="button" className="btn btn-primary" onClick={() => setEditing("new")}>New credential</button>
      </div>
      <div className="card">
        {credentials.isPending ? (
          <Spinner label="Loading the credentials…" />
        ) : credentials.isError ? (
          <ErrorState error={credentials.error} onRetry={() => credentials.refetch()} />
        ) : list.length === 0 ? (
          <EmptyState title="No credentials yet"
                      action={<button type="button" className="btn" onClick={() => setEditing("new")}>Create one</button>}>
            A credential holds an API token, a webhook URL or a database DSN. Steps pick it in their form (an HTTP
            request's authentication, Slack, SQL) or name it in a template as <code>{"{{ secrets.NAME }}"}</code>.
          </EmptyState>
        ) : (
          <table className="table credentials-table" aria-label="Credentials">
            <thead>
              <tr><th>Name</th><th>Used by</th><th>Created</th><th>Updated</th><th /></tr>
            </thead>
            <tbody>
              {list.map((credential) => (
                <tr key={credential.id} data-testid={`credential-${credential.name}`}>
                  <td>
                    <span className="mono dash-name">{credential.name}</span>
                    {credential.description && <div className="muted small">{credential.description}</div>}
                  </td>
                  <td>
                    {credential.used_by.length === 0 ? (
                      <span className="muted">No workflow</span>
                    ) : (
                      <ul className="credential-uses">
                        {credential.used_by.map((use) => (
                          <li key={use.id}>
                            <Link to={`/workflows/${use.id}`}>{use.name}</Link>
                            <span className="muted small"> · {use.steps.join(", ")}</span>
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td title={formatTime(credential.created_at)}>{formatAgo(credential.created_at)}</td>
                  <td title={formatTime(credential.updated_at)}>{formatAgo(credential.updated_at)}</td>
                  <td>
                    <div className="fp-row-actions">
                      <button type="button" className="btn btn-sm" onClick={() => setEditing(credential)}
                              aria-label={`Replace the value of ${credential.name}`}>Replace value</button>
                      <button type="button" className="btn btn-sm btn-danger" onClick={() => { setRefusal(null); setDeleting(credential); }}
                              aria-label={`Delete ${credential.name}`}>Delete</button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>

      {editing && (
        <CredentialDialog credential={editing === "new" ? undefined : editing} onClose={() => setEditing(null)}
                          onSaved={(saved) => {
                            toast(editing === "new" ? `Created ${saved.name}.` : `Replaced the value of ${saved.name}.`);
                            setEditing(null);
                          }} />
      )}
      {deleting && (
        <ConfirmDialog title={`Delete ${deleting.name}?`} confirmLabel="Delete" danger busy={busy}
                       onConfirm={() => void remove()} onClose={() => setDeleting(null)}>
          {refusal ? (
            <p className="field-error" role="alert">{refusal}</p>
          ) : (
            <p>Steps that name it would fail. The server refuses while a workflow uses it.</p>
          )}
        </ConfirmDialog>
      )}
    </div>
  );
}
