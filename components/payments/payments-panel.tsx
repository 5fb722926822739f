"use client";

import { useEffect, useState } from "react";
import { Money } from "@/components/billing/money";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/sonner";
import { parseUsd } from "@/lib/billing/money";
import { fieldErrors } from "@/lib/ui/api";
import { PaymentsTable } from "./payments-table";
import { type SettingsView, useBillingSettings, usePayments, useSaveBillingSettings } from "./queries";

const dollars = (micros: number) => (micros / 1_000_000).toFixed(2);

export function PaymentsPanel() {
  const settings = useBillingSettings().data?.settings;
  const payments = usePayments("all");
  return (
    <div className="grid grid-cols-1 gap-6">
      {settings ? <SettingsForm settings={settings} /> : null}
      <Card>
        <CardHeader>
          <CardTitle>Card payments</CardTitle>
          <CardDescription>
            Stripe Checkout top-ups, newest first. Credited from Stripe's signed events only; refunds and lost
            disputes are taken back as adjustments.
          </CardDescription>
        </CardHeader>
        <CardContent>
          <PaymentsTable items={payments.data?.items} admin />
        </CardContent>
      </Card>
    </div>
  );
}

function SettingsForm({ settings }: { settings: SettingsView }) {
  const save = useSaveBillingSettings();
  const initial = () => ({
    min: dollars(settings.topupMinMicros),
    max: dollars(settings.topupMaxMicros),
    presets: settings.topupPresetsMicros.map(dollars).join(", "),
    low: dollars(settings.lowBalanceMicros),
  });
  const [form, setForm] = useState(initial);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset when the saved settings change
  useEffect(() => setForm(initial()), [settings]);
  const errors = fieldErrors(save.error);
  const presets = form.presets.split(",").map((p) => parseUsd(p.trim()));
  const values = [parseUsd(form.min), parseUsd(form.max), parseUsd(form.low)];
  const ready = values.every((v) => v !== null && v >= 0n) && presets.every((p) => p !== null);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Top-ups and low balance</CardTitle>
        <CardDescription>
          {settings.cardTopUps
            ? "Card top-ups are on (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are set)."
            : "Card top-ups are off: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET to turn them on."}{" "}
          Amounts in USD; accounts below the low-balance threshold get one email per crossing.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="grid gap-4 md:grid-cols-5 md:items-end"
          onSubmit={(e) => {
            e.preventDefault();
            if (!ready) return;
            save.mutate(
              {
                topupMinMicros: values[0]!.toString(),
                topupMaxMicros: values[1]!.toString(),
                topupPresetsMicros: presets.map((p) => p!.toString()),
                lowBalanceMicros: values[2]!.toString(),
              },
              { onSuccess: () => toast.success("Settings saved") },
            );
          }}
        >
          <Field id="settings-min" label="Minimum top-up" error={errors.topupMinMicros}>
            <Input
              id="settings-min"
              value={form.min}
              onChange={(e) => setForm({ ...form, min: e.target.value })}
            />
          </Field>
          <Field id="settings-max" label="Maximum top-up" error={errors.topupMaxMicros}>
            <Input
              id="settings-max"
              value={form.max}
              onChange={(e) => setForm({ ...form, max: e.target.value })}
            />
          </Field>
          <Field id="settings-presets" label="Preset amounts" error={errors.topupPresetsMicros}>
            <Input
              id="settings-presets"
              value={form.presets}
              onChange={(e) => setForm({ ...form, presets: e.target.value })}
            />
          </Field>
          <Field id="settings-low" label="Low-balance threshold" error={errors.lowBalanceMicros}>
            <Input
              id="settings-low"
              value={form.low}
              onChange={(e) => setForm({ ...form, low: e.target.value })}
            />
          </Field>
          <Button type="submit" disabled={!ready || save.isPending}>
            Save
          </Button>
          <div className="md:col-span-5">
            <FormError message={save.error && !Object.keys(errors).length ? save.error.message : null} />
            <p className="text-xs text-muted-foreground">
              Now: <Money micros={settings.topupMinMicros} /> to <Money micros={settings.topupMaxMicros} />
              {"; "}low balance below <Money micros={settings.lowBalanceMicros} />.
            </p>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
