"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Json } from "@/lib/json";
import type {
  CreateVirtualModelBody,
  GatewayHealth,
  ModelHealthRow,
  UpdateVirtualModelBody,
  VirtualModel,
} from "@/lib/routing/schemas";
import { api } from "@/lib/ui/api";

export type VirtualModelRow = Json<VirtualModel>;

export const useVirtualModels = () =>
  useQuery({
    queryKey: ["virtual-models"],
    queryFn: () => api<{ items: VirtualModelRow[] }>("/api/v1/routing"),
  });

export function useSaveVirtualModel() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id?: string; body: CreateVirtualModelBody | UpdateVirtualModelBody }) =>
      id
        ? api<{ virtualModel: VirtualModelRow }>(`/api/v1/routing/${id}`, { method: "PATCH", body })
        : api<{ virtualModel: VirtualModelRow }>("/api/v1/routing", { body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["virtual-models"] }),
  });
}

export interface ModelHealthAnswer {
  at: string;
  hour: ModelHealthRow[];
  day: ModelHealthRow[];
  gateway: { reachable: true; health: GatewayHealth } | { reachable: false; error: string };
}

export const useModelHealth = () =>
  useQuery({
    queryKey: ["model-health"],
    queryFn: () => api<ModelHealthAnswer>("/api/v1/model-health"),
    refetchInterval: 15_000,
  });
