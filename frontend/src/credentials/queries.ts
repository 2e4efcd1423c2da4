/** The user's stored credentials (GET /api/v1/credentials/: names, descriptions, dates and the
 * workflows using each, never a value) and the writes: create, replace the value, delete. */
import { useQuery, type QueryClient } from "@tanstack/react-query";

import { api, type Page } from "@/lib/api";
import type { Credential } from "@/lib/types";

export const credentialKeys = {
  all: ["credentials"] as const,
  list: () => ["credentials", "list"] as const,
};

/** The most a page lists (the server caps a page at 1000). */
export const CREDENTIALS_LIMIT = 500;

export async function fetchCredentials(): Promise<Credential[]> {
  const data = await api.get<Page<Credential> | Credential[]>("credentials/", { limit: CREDENTIALS_LIMIT });
  return Array.isArray(data) ? data : data.results;
}

/** The page's list: asked again on every visit (`used_by` changes with every workflow saved). */
export function useCredentials() {
  return useQuery({ queryKey: credentialKeys.list(), queryFn: fetchCredentials, staleTime: 0, refetchOnMount: "always" });
}

export interface CredentialInput {
  name: string;
  value: string;
  description?: string;
}

export const createCredential = (input: CredentialInput) => api.post<Credential>("credentials/", input);

/** Write-only: the new value replaces the old, which is never shown. */
export const replaceCredential = (id: number, change: { value?: string; description?: string }) =>
  api.patch<Credential>(`credentials/${id}/`, change);

export const deleteCredential = (id: number) => api.delete(`credentials/${id}/`);

/** After a write: every view of the credentials (the page, the pickers, the template hints) asks again. */
export const refreshCredentials = (client: QueryClient) => client.invalidateQueries({ queryKey: credentialKeys.all });
