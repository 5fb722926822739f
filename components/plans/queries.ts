"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Json } from "@/lib/json";
import type { CreatePlanBody, UpdatePlanBody } from "@/lib/plans/schemas";
import type { Plan } from "@/lib/plans/types";
import { api } from "@/lib/ui/api";

export type PlanRow = Json<Plan>;

export const usePlans = () =>
  useQuery({ queryKey: ["plans"], queryFn: () => api<{ items: PlanRow[] }>("/api/v1/plans") });

export function useSavePlan() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id?: string; body: CreatePlanBody | UpdatePlanBody }) =>
      id
        ? api<{ plan: PlanRow }>(`/api/v1/plans/${id}`, { method: "PATCH", body })
        : api<{ plan: PlanRow }>("/api/v1/plans", { body }),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["plans"] });
      qc.invalidateQueries({ queryKey: ["users"] });
    },
  });
}
