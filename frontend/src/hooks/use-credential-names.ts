/** The names of the user's stored credentials, for `{{ secrets.NAME }}` completions. */
import { useQuery } from "@tanstack/react-query";

import { api, type Page } from "@/lib/api";
import type { Credential } from "@/lib/types";

const NONE: string[] = [];

export function useCredentialNames(): string[] {
  const query = useQuery({
    queryKey: ["credentials", "names"],
    queryFn: async () => {
      const data = await api.get<Page<Credential> | Credential[]>("credentials/", { limit: 200 });
      return (Array.isArray(data) ? data : data.results).map((c) => c.name);
    },
    staleTime: 60_000,
    retry: false,
  });
  return query.data ?? NONE;
}
