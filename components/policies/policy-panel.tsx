"use client";

import { Lock } from "lucide-react";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import Link from "@/components/ui/link";
import { toast } from "@/components/ui/sonner";
import { Switch } from "@/components/ui/switch";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import {
  type AccountPolicy,
  PII_ACTIONS,
  PII_CATEGORIES,
  PII_CATEGORY_INFO,
  type PiiAction,
  type PolicyView,
  TTL_PRESETS,
  type UpdatePolicyBody,
} from "@/lib/policies/schemas";
import { fieldErrors } from "@/lib/ui/api";
import { cn } from "@/lib/utils";
import { type PolicyScope, usePolicy, useUpdatePolicy } from "./queries";

const ACTION_LABEL: Record<PiiAction, string> = { off: "Off", mask: "Mask", block: "Block" };

/** A TTL in words: "1 hour", "90 seconds". */
function ttlText(seconds: number): string {
  const preset = TTL_PRESETS.find((p) => p.seconds === seconds);
  if (preset) return preset.label;
  for (const [unit, size] of [
    ["day", 86_400],
    ["hour", 3_600],
    ["minute", 60],
  ] as const) {
    if (seconds % size === 0) return `${seconds / size} ${unit}${seconds === size ? "" : "s"}`;
  }
  return `${seconds} seconds`;
}

interface Form {
  enabled: boolean;
  ttlSeconds: number;
  maxTemperature: string;
  pii: Record<string, PiiAction>;
}

const formOf = (policy: AccountPolicy): Form => ({
  enabled: policy.responseCache.enabled,
  // A cache that is off shows the hour preset ready for when it is turned on.
  ttlSeconds: policy.responseCache.ttlSeconds ?? 3_600,
  maxTemperature: String(policy.responseCache.maxTemperature),
  pii: { ...policy.pii },
});

/** A typed maximum temperature: a number 0–2 with at most 2 decimals, else null. */
function temperatureOf(text: string): number | null {
  if (!/^\s*\d(\.\d{1,2})?\s*$/.test(text)) return null;
  const value = Number(text);
  return value <= 2 ? value : null;
}

/**
 * An account's response cache and PII guardrails (issue 30): the cache switch, its TTL and maximum temperature,
 * and one row per PII category with off / mask / block. Read-only, with who may change it, for everyone else who
 * sees it (an organization's members, billing members, platform admins).
 */
export function PolicyPanel({ scope }: { scope: PolicyScope }) {
  const policy = usePolicy(scope);
  if (policy.isLoading) return <p className="text-sm text-muted-foreground">Loading…</p>;
  if (!policy.data) return <FormError message={policy.error?.message ?? "The policy could not be read."} />;
  // Keyed by what is stored, so a save (or another owner's) resets the form to it.
  return <PolicyForm key={JSON.stringify(policy.data.policy)} scope={scope} view={policy.data} />;
}

function PolicyForm({ scope, view }: { scope: PolicyScope; view: PolicyView }) {
  const initial = formOf(view.policy);
  const [form, setForm] = useState<Form>(initial);
  const update = useUpdatePolicy(scope);
  const errors = fieldErrors(update.error);
  const readOnly = !view.canChange;
  const temperature = temperatureOf(form.maxTemperature);
  const temperatureError =
    temperature === null ? "A number from 0 to 2, at most 2 decimals (e.g. 0 or 0.7)" : null;

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (readOnly || temperature === null) return;
    const body: UpdatePolicyBody = {};
    const cache: NonNullable<UpdatePolicyBody["responseCache"]> = {};
    if (form.enabled !== initial.enabled) cache.enabled = form.enabled;
    if (form.enabled && (form.ttlSeconds !== initial.ttlSeconds || !initial.enabled)) {
      cache.ttlSeconds = form.ttlSeconds;
      cache.enabled = true;
    }
    if (temperature !== view.policy.responseCache.maxTemperature) cache.maxTemperature = temperature;
    if (Object.keys(cache).length) body.responseCache = cache;
    const pii = Object.fromEntries(
      Object.entries(form.pii).filter(([c, action]) => initial.pii[c] !== action),
    );
    if (Object.keys(pii).length) body.pii = pii;
    if (!body.responseCache && !body.pii) {
      toast.info("Nothing changed");
      return;
    }
    update.mutate(body, {
      onSuccess: () => toast.success("Saved: the gateway applies it to new calls within seconds."),
    });
  };

  return (
    <form className="grid gap-6" onSubmit={submit} noValidate data-testid="policy-form">
      {readOnly ? (
        <div
          data-testid="policy-readonly"
          className="flex items-start gap-2 rounded-md border bg-muted/40 px-3 py-2 text-sm text-muted-foreground"
        >
          <Lock className="mt-0.5 size-4 shrink-0" aria-hidden />
          <p>
            You can see this policy because calls paid from this account are subject to it; only{" "}
            {view.changedBy} can change it.
          </p>
        </div>
      ) : null}
      <FormError message={update.error && !Object.keys(errors).length ? update.error.message : null} />

      <Card>
        <CardHeader>
          <CardTitle>Response cache</CardTitle>
          <CardDescription>
            When it is on, Tollgate keeps the answers to non-streamed chat and completion calls whose
            temperature is at most the maximum below (a call that sets none counts as 1) and answers the same
            request again from them, for the time chosen: only to this account's keys, never to another
            account's. A repeat answered from the cache is charged the model's cache-hit price, shown on its
            price page (
            <Link href="/account/models" className="text-primary underline underline-offset-2">
              Models &amp; prices
            </Link>
            ), and reaches no provider. A key can stay out of it in its edit form.
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-5">
          <div className="flex items-center gap-3">
            <Switch
              id="cache-enabled"
              data-testid="cache-enabled"
              checked={form.enabled}
              disabled={readOnly}
              onCheckedChange={(enabled) => setForm({ ...form, enabled })}
            />
            <Label htmlFor="cache-enabled">
              {form.enabled
                ? "On: repeated requests are answered from the cache"
                : "Off: every call goes to the provider"}
            </Label>
          </div>
          <fieldset className="grid gap-2" disabled={readOnly || !form.enabled}>
            <legend className="mb-2 text-sm font-medium">Keep each answer for</legend>
            <div className="flex flex-wrap gap-2" role="radiogroup" aria-label="Keep each answer for">
              {[
                ...TTL_PRESETS.map((p) => p.seconds),
                ...(TTL_PRESETS.some((p) => p.seconds === form.ttlSeconds) ? [] : [form.ttlSeconds]),
              ].map((seconds) => (
                <label
                  key={seconds}
                  className={cn(
                    "flex cursor-pointer items-center gap-2 rounded-md border px-3 py-1.5 text-sm has-[:disabled]:cursor-not-allowed has-[:disabled]:opacity-60",
                    form.ttlSeconds === seconds && "border-primary bg-primary/5 font-medium",
                  )}
                >
                  <input
                    type="radio"
                    name="cache-ttl"
                    value={seconds}
                    data-testid={`cache-ttl-${seconds}`}
                    checked={form.ttlSeconds === seconds}
                    onChange={() => setForm({ ...form, ttlSeconds: seconds })}
                  />
                  {ttlText(seconds)}
                </label>
              ))}
            </div>
            {errors["responseCache.ttlSeconds"] ? (
              <p className="text-sm text-destructive">{errors["responseCache.ttlSeconds"]}</p>
            ) : null}
          </fieldset>
          <Field
            id="cache-max-temperature"
            label="Maximum temperature cached"
            error={temperatureError ?? errors["responseCache.maxTemperature"]}
            hint="0 caches only deterministic calls; 1 also caches calls that leave temperature unset."
          >
            <Input
              id="cache-max-temperature"
              inputMode="decimal"
              className="w-32"
              disabled={readOnly}
              value={form.maxTemperature}
              onChange={(e) => setForm({ ...form, maxTemperature: e.target.value })}
            />
          </Field>
        </CardContent>
      </Card>

      <Card className="min-w-0">
        <CardHeader>
          <CardTitle>Personal data guardrails</CardTitle>
          <CardDescription>
            Every text a call sends (messages, tool results, inputs) is checked before it leaves Tollgate.
            Mask: each value is replaced by a placeholder such as [EMAIL_1] before the provider sees it, and
            the number masked is counted on the request log (never the value). Block: the call is refused with
            400 naming the category; nothing is sent and nothing is charged. Off: the text is sent as written.
          </CardDescription>
        </CardHeader>
        <CardContent>
          <Table data-testid="pii-table">
            <TableHeader>
              <TableRow>
                <TableHead>Category</TableHead>
                <TableHead>Example</TableHead>
                <TableHead>Masked as</TableHead>
                <TableHead>What happens</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {PII_CATEGORIES.map((category) => {
                const info = PII_CATEGORY_INFO[category] ?? {
                  label: category,
                  example: "",
                  placeholder: `[${category.toUpperCase()}_1]`,
                };
                return (
                  <TableRow key={category} data-testid={`pii-row-${category}`}>
                    <TableCell className="font-medium">{info.label}</TableCell>
                    <TableCell className="font-mono text-xs text-muted-foreground">{info.example}</TableCell>
                    <TableCell className="font-mono text-xs">{info.placeholder}</TableCell>
                    <TableCell>
                      <ActionChoice
                        category={category}
                        label={info.label}
                        value={form.pii[category] ?? "off"}
                        disabled={readOnly}
                        onChange={(action) => setForm({ ...form, pii: { ...form.pii, [category]: action } })}
                      />
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
          {errors.pii ? <p className="mt-2 text-sm text-destructive">{errors.pii}</p> : null}
        </CardContent>
      </Card>

      {readOnly ? null : (
        <div>
          <Button type="submit" disabled={update.isPending || temperature === null} data-testid="policy-save">
            {update.isPending ? "Saving…" : "Save guardrails & cache"}
          </Button>
        </div>
      )}
    </form>
  );
}

/** Off / mask / block for one category: a segmented radio group. */
function ActionChoice({
  category,
  label,
  value,
  disabled,
  onChange,
}: {
  category: string;
  label: string;
  value: PiiAction;
  disabled: boolean;
  onChange: (action: PiiAction) => void;
}) {
  return (
    <div
      role="radiogroup"
      aria-label={`${label}: what happens`}
      className="inline-flex rounded-md border p-0.5"
    >
      {PII_ACTIONS.map((action) => (
        <label
          key={action}
          className={cn(
            "cursor-pointer rounded px-2.5 py-1 text-xs whitespace-nowrap has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-ring/50",
            value === action
              ? action === "block"
                ? "bg-destructive text-white"
                : action === "mask"
                  ? "bg-primary text-primary-foreground"
                  : "bg-muted font-medium text-foreground"
              : "text-muted-foreground",
            disabled && "cursor-not-allowed opacity-70",
          )}
        >
          <input
            type="radio"
            className="sr-only"
            name={`pii-${category}`}
            value={action}
            data-testid={`pii-${category}-${action}`}
            checked={value === action}
            disabled={disabled}
            onChange={() => onChange(action)}
          />
          {ACTION_LABEL[action]}
        </label>
      ))}
    </div>
  );
}
