"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { PolicyView, UpdatePolicyBody } from "@/lib/policies/schemas";
import { api } from "@/lib/ui/api";

/** Whose policy: the signed-in person's own account, or an organization's (its slug). */
export type PolicyScope = { kind: "own" } | { kind: "org"; slug: string };

export const policyPath = (scope: PolicyScope) =>
  scope.kind === "own" ? "/api/v1/account/policy" : `/api/v1/orgs/${encodeURIComponent(scope.slug)}/policy`;

const policyKey = (scope: PolicyScope) => ["policy", scope.kind === "own" ? null : scope.slug];

export function usePolicy(scope: PolicyScope) {
  return useQuery({ queryKey: policyKey(scope), queryFn: () => api<PolicyView>(policyPath(scope)) });
}

/** Saves a change; the policy's query is refreshed from the answer. */
export function useUpdatePolicy(scope: PolicyScope) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: UpdatePolicyBody) => api<PolicyView>(policyPath(scope), { method: "PATCH", body }),
    onSuccess: (view) => {
      qc.setQueryData(policyKey(scope), view);
      qc.invalidateQueries({ queryKey: policyKey(scope) });
    },
  });
}
