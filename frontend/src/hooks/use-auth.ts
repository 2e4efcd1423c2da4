/** The signed-in user (a Django session): who it is, logging in and out. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, ApiError } from "@/lib/api";
import type { User } from "@/lib/types";

export const meKey = ["auth", "me"] as const;

export function useMe() {
  return useQuery<User | null>({
    queryKey: meKey,
    queryFn: async () => {
      try {
        return await api.get<User>("auth/me/");
      } catch (error) {
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return null;
        throw error;
      }
    },
    staleTime: 5 * 60_000,
    retry: false,
  });
}

export function useLogin() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (credentials: { username: string; password: string }) => api.post<User>("auth/login/", credentials),
    onSuccess: (user) => {
      client.clear();
      client.setQueryData(meKey, user);
    },
  });
}

export function useLogout() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api.post<void>("auth/logout/"),
    onSuccess: () => {
      client.clear();
      client.setQueryData(meKey, null);
    },
  });
}
