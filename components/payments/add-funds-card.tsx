"use client";

import { CreditCard } from "lucide-react";
import { useState } from "react";
import { usd } from "@/components/billing/format";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { parseUsd } from "@/lib/billing/money";
import { PaymentsTable } from "./payments-table";
import { useBillingSettings, useCheckout, usePayments } from "./queries";

/**
 * A developer tops up by card (Stripe Checkout) and sees their payments; with `org`, the organization's balance is
 * topped up instead (its payments show in its ledger).
 */
export function AddFundsCard({ org }: { org?: { slug: string; name: string } }) {
  const settings = useBillingSettings().data?.settings;
  const payments = usePayments("mine");
  const checkout = useCheckout(org?.slug);
  const [custom, setCustom] = useState("");
  const amount = parseUsd(custom);
  const inRange =
    settings &&
    amount !== null &&
    amount >= BigInt(settings.topupMinMicros) &&
    amount <= BigInt(settings.topupMaxMicros);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Add funds</CardTitle>
        <CardDescription>
          {settings?.cardTopUps
            ? `Pay by card with Stripe, from ${usd(settings.topupMinMicros)} to ${usd(settings.topupMaxMicros)}. ${org ? `${org.name}'s` : "The"} balance rises once Stripe confirms the payment.`
            : "Top-ups by card are off on this deployment: ask an administrator, or redeem a code."}
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {settings?.cardTopUps ? (
          <div className="flex flex-wrap items-center gap-2">
            {settings.topupPresetsMicros.map((preset) => (
              <Button
                key={preset}
                variant="outline"
                disabled={checkout.isPending}
                onClick={() => checkout.mutate(String(preset))}
              >
                <CreditCard /> {usd(preset).replace(/\.0+$/, "")}
              </Button>
            ))}
            <Input
              aria-label="Other amount (USD)"
              placeholder="Other amount"
              className="w-36"
              value={custom}
              onChange={(e) => setCustom(e.target.value)}
            />
            <Button
              disabled={!inRange || checkout.isPending}
              onClick={() => checkout.mutate(amount!.toString())}
            >
              Pay
            </Button>
          </div>
        ) : null}
        {checkout.error ? (
          <p role="alert" className="text-sm text-destructive">
            {checkout.error.message}
          </p>
        ) : null}
        {!org && payments.data?.items.length ? (
          <PaymentsTable items={payments.data.items} admin={false} />
        ) : null}
      </CardContent>
    </Card>
  );
}
