"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import type { Json } from "@/lib/json";
import type {
  CreateInvitationBody,
  CreateOrgBody,
  UpdateMemberBody,
  UpdateOrgBody,
} from "@/lib/orgs/schemas";
import type { Org, OrgSummary } from "@/lib/orgs/types";
import { api } from "@/lib/ui/api";

// The organization pages read on the server (lib/orgs/*) and change things through /api/v1/orgs: each mutation
// refreshes the server-rendered page (and the header's switcher) and the client queries that show the same data.

export const orgPath = (org: string) => `/api/v1/orgs/${encodeURIComponent(org)}`;

function useOrgMutation<TVars, TResult>(fn: (vars: TVars) => Promise<TResult>) {
  const router = useRouter();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: () => {
      router.refresh();
      for (const key of ["orgs", "keys", "account", "ledger"]) qc.invalidateQueries({ queryKey: [key] });
    },
  });
}

export type OrgSummaryView = Json<OrgSummary>;

export const useCreateOrg = () =>
  useOrgMutation((body: CreateOrgBody) => api<{ organization: Json<Org> }>("/api/v1/orgs", { body }));

export const useUpdateOrg = (org: string) =>
  useOrgMutation((body: UpdateOrgBody) => api(orgPath(org), { method: "PATCH", body }));

export const useInvite = (org: string) =>
  useOrgMutation((body: CreateInvitationBody) => api(`${orgPath(org)}/invitations`, { body }));

export const useRevokeInvitation = (org: string) =>
  useOrgMutation((id: string) =>
    api(`${orgPath(org)}/invitations/${encodeURIComponent(id)}`, { method: "DELETE" }),
  );

export const useUpdateMember = (org: string) =>
  useOrgMutation(({ userId, body }: { userId: string; body: UpdateMemberBody }) =>
    api(`${orgPath(org)}/members/${encodeURIComponent(userId)}`, { method: "PATCH", body }),
  );

/** Removes a member (owners and admins), or with one's own id leaves the organization. */
export const useRemoveMember = (org: string) =>
  useOrgMutation((userId: string) =>
    api(`${orgPath(org)}/members/${encodeURIComponent(userId)}`, { method: "DELETE" }),
  );

export const useTransfer = (org: string) =>
  useOrgMutation((userId: string) => api(`${orgPath(org)}/transfer`, { body: { userId } }));

export const useAcceptInvitation = (token: string) =>
  useOrgMutation(() =>
    api<{ organization: { slug: string; name: string } }>(
      `/api/v1/invitations/${encodeURIComponent(token)}/accept`,
      { method: "POST" },
    ),
  );
