"use client";

import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Json } from "@/lib/json";
import type { CreateKeyBody, UpdateKeyBody } from "@/lib/keys/schemas";
import type { ApiKey } from "@/lib/keys/types";
import type { Model } from "@/lib/models/types";
import { api } from "@/lib/ui/api";

export type KeyRow = Json<ApiKey>;
export type ModelRow = Json<Model>;

export interface KeysFilter {
  q: string;
  status: string;
  page: number;
  /** From the page's URL (links from users and calls): one user's keys, or one key. */
  userId?: string;
  keyId?: string;
}

/**
 * Every user's keys for the admin page (/api/v1), the signed-in person's own for "My API keys" (/api/v1/me), an
 * organization's (/api/v1/orgs/<slug>: every member's for its owners and admins); `org` narrows /api/v1/me to the
 * person's keys of that organization.
 */
export function useKeys(
  filter: KeysFilter,
  base: "/api/v1" | "/api/v1/me" | `/api/v1/orgs/${string}`,
  org?: string,
) {
  const params = new URLSearchParams({ page: String(filter.page), pageSize: "20" });
  if (org) params.set("org", org);
  if (filter.q) params.set("q", filter.q);
  if (filter.status) params.set("status", filter.status);
  if (filter.userId) params.set("userId", filter.userId);
  if (filter.keyId) params.set("keyId", filter.keyId);
  return useQuery({
    queryKey: ["keys", base, org ?? null, filter],
    queryFn: () => api<{ items: KeyRow[]; total: number; pageSize: number }>(`${base}/keys?${params}`),
    placeholderData: keepPreviousData,
  });
}

export function useModels() {
  return useQuery({ queryKey: ["models"], queryFn: () => api<{ items: ModelRow[] }>("/api/v1/models") });
}

function useKeyMutation<TVars>(fn: (vars: TVars) => Promise<{ key: KeyRow; secret?: string }>) {
  const qc = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => qc.invalidateQueries({ queryKey: ["keys"] }) });
}

/** Creates a person's key, or with `org` (slug) a key that spends from that organization's account. */
export const useCreateKey = (org?: string) =>
  useKeyMutation((body: CreateKeyBody) =>
    api<{ key: KeyRow; secret: string }>(
      org ? `/api/v1/orgs/${encodeURIComponent(org)}/keys` : "/api/v1/keys",
      { body },
    ),
  );
export const useUpdateKey = () =>
  useKeyMutation(({ id, body }: { id: string; body: UpdateKeyBody }) =>
    api<{ key: KeyRow }>(`/api/v1/keys/${id}`, { method: "PATCH", body }),
  );
export const useRevokeKey = () =>
  useKeyMutation((id: string) => api<{ key: KeyRow }>(`/api/v1/keys/${id}`, { method: "DELETE" }));
export const useRotateKey = () =>
  useKeyMutation((id: string) =>
    api<{ key: KeyRow; secret: string }>(`/api/v1/keys/${id}/rotate`, { method: "POST" }),
  );
