"use client";

import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Json } from "@/lib/json";
import { api } from "@/lib/ui/api";
import type { CreateUserBody, UpdateUserBody } from "@/lib/users/schemas";
import type { User } from "@/lib/users/types";

export type UserRow = Json<User>;

export interface UsersPage {
  items: UserRow[];
  total: number;
  page: number;
  pageSize: number;
}

export interface UsersFilter {
  q: string;
  role: string;
  status: string;
  page: number;
}

export function useUsers(filter: UsersFilter) {
  const params = new URLSearchParams({ page: String(filter.page), pageSize: "20" });
  if (filter.q) params.set("q", filter.q);
  if (filter.role) params.set("role", filter.role);
  if (filter.status) params.set("status", filter.status);
  return useQuery({
    queryKey: ["users", filter],
    queryFn: () => api<UsersPage>(`/api/v1/users?${params}`),
    placeholderData: keepPreviousData,
  });
}

export function useCreateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateUserBody) => api<{ user: UserRow }>("/api/v1/users", { body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["users"] }),
  });
}

export function useUpdateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: UpdateUserBody & { id: string }) =>
      api<{ user: UserRow }>(`/api/v1/users/${id}`, { method: "PATCH", body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["users"] }),
  });
}
