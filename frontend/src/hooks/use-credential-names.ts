/** The names of the user's stored credentials, for the credential pickers and `{{ secrets.NAME }}`
 * completions (one query with the Credentials page: a credential created anywhere shows everywhere). */
import { useQuery } from "@tanstack/react-query";

import { credentialKeys, fetchCredentials } from "@/credentials/queries";
import type { Credential } from "@/lib/types";

const NONE: string[] = [];
const names = (credentials: Credential[]) => credentials.map((c) => c.name);

export function useCredentialNames(): string[] {
  const query = useQuery({
    queryKey: credentialKeys.list(),
    queryFn: fetchCredentials,
    staleTime: 30_000,
    retry: false,
    select: names,
  });
  return query.data ?? NONE;
}
