"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Json } from "@/lib/json";
import type { BillingSettingsBody } from "@/lib/payments/schemas";
import type { BillingSettings, Payment } from "@/lib/payments/types";
import { api } from "@/lib/ui/api";

export type PaymentRow = Json<Payment>;
export type SettingsView = Json<BillingSettings>;

export const useBillingSettings = () =>
  useQuery({
    queryKey: ["billing-settings"],
    queryFn: () => api<{ settings: SettingsView }>("/api/v1/billing-settings"),
  });

export const usePayments = (scope: "mine" | "all") =>
  useQuery({
    queryKey: ["payments", scope],
    queryFn: () =>
      api<{ items: PaymentRow[] }>(scope === "mine" ? "/api/v1/me/payments" : "/api/v1/payments"),
  });

export function useSaveBillingSettings() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: BillingSettingsBody) =>
      api<{ settings: SettingsView }>("/api/v1/billing-settings", { method: "PATCH", body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["billing-settings"] }),
  });
}

/** A card top-up of the person's own account, or with `org` (slug) of that organization's. */
export const useCheckout = (org?: string) =>
  useMutation({
    mutationFn: (amountMicros: string) =>
      api<{ url: string }>(
        org ? `/api/v1/orgs/${encodeURIComponent(org)}/checkout` : "/api/v1/payments/checkout",
        { body: { amountMicros } },
      ),
    onSuccess: ({ url }) => window.location.assign(url),
  });
