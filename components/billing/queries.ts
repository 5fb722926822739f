"use client";

import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { UsageRow } from "@/lib/billing/accounts";
import type { Account, LedgerLine } from "@/lib/billing/ledger";
import type { PriceVersion } from "@/lib/billing/prices";
import type { BudgetsBody } from "@/lib/billing/schemas";
import type { Json } from "@/lib/json";
import { api } from "@/lib/ui/api";

export type AccountView = Json<Account>;
export type UsageView = Json<UsageRow>;
export type LedgerView = Json<LedgerLine>;

/** The price book as the caller may see it (admins: every version with cost; others: sell prices in force). */
export const usePrices = () =>
  useQuery({
    queryKey: ["prices"],
    queryFn: () => api<{ items: Json<PriceVersion>[] }>("/api/v1/prices"),
    staleTime: 60_000,
  });

export const useMyAccount = () =>
  useQuery({ queryKey: ["account", "me"], queryFn: () => api<{ account: AccountView }>("/api/v1/account") });

export const useAccount = (id: string) =>
  useQuery({
    queryKey: ["account", id],
    queryFn: () => api<{ account: AccountView }>(`/api/v1/accounts/${id}`),
  });

export const useUsage = (accountId: string | undefined, page: number) =>
  useQuery({
    queryKey: ["usage", accountId, page],
    queryFn: () =>
      api<{ items: UsageView[]; total: number; capped: boolean }>(
        `/api/v1/accounts/${accountId}/usage?page=${page}&pageSize=20`,
      ),
    enabled: Boolean(accountId),
    placeholderData: keepPreviousData,
  });

export const useLedger = (accountId: string | undefined, page: number) =>
  useQuery({
    queryKey: ["ledger", accountId, page],
    queryFn: () =>
      api<{ items: LedgerView[]; total: number; capped: boolean }>(
        `/api/v1/accounts/${accountId}/ledger?page=${page}&pageSize=20`,
      ),
    enabled: Boolean(accountId),
    placeholderData: keepPreviousData,
  });

export const useDaily = (accountId: string | undefined) =>
  useQuery({
    queryKey: ["daily", accountId],
    queryFn: () =>
      api<{ items: { day: string; calls: number; revenueMicros: number; estimatedMicros: number }[] }>(
        `/api/v1/accounts/${accountId}/daily?days=30`,
      ),
    enabled: Boolean(accountId),
  });

export function useCredit(accountId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { amountMicros: string; kind: string; reason: string; idempotencyKey: string }) =>
      api<{ account: AccountView; replayed: boolean }>(`/api/v1/accounts/${accountId}/credits`, { body }),
    onSuccess: () => {
      for (const key of ["account", "ledger", "accounts"]) qc.invalidateQueries({ queryKey: [key] });
    },
  });
}

export function useBudgets(accountId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: BudgetsBody) =>
      api<{ account: AccountView }>(`/api/v1/accounts/${accountId}`, { method: "PATCH", body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["account"] }),
  });
}
