"use client";

import { Crown } from "lucide-react";
import { useState } from "react";
import { usd } from "@/components/billing/format";
import { ModelsFieldset, toggled } from "@/components/keys/key-fields";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Confirm } from "@/components/ui/confirm";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/sonner";
import { parseUsd } from "@/lib/billing/money";
import type { Json } from "@/lib/json";
import type { OrgAbilities } from "@/lib/orgs/overview";
import type { Org } from "@/lib/orgs/types";
import { fieldErrors } from "@/lib/ui/api";
import { useTransfer, useUpdateOrg } from "./queries";

type OrgView = Json<Org>;

const toUsd = (micros: number | null) => (micros === null ? "" : String(micros / 1e6));
const parseAmount = (text: string) => (text.trim() === "" ? null : parseUsd(text));
const bad = (text: string) => text.trim() !== "" && (parseUsd(text) === null || parseUsd(text)! < 0n);

/** Name, budgets and the models the organization narrows its plan to (owners and admins). */
export function GeneralSettings({ org, models }: { org: OrgView; models: string[] }) {
  const [name, setName] = useState(org.name);
  const [daily, setDaily] = useState(toUsd(org.account.dailyBudgetMicros));
  const [monthly, setMonthly] = useState(toUsd(org.account.monthlyBudgetMicros));
  const [allowed, setAllowed] = useState<string[]>(org.account.allowedModels);
  const update = useUpdateOrg(org.slug);
  const errors = fieldErrors(update.error);
  return (
    <Card>
      <CardHeader>
        <CardTitle>General</CardTitle>
        <CardDescription>
          The organization's name, its hard budgets (charges plus reservations per UTC day and month; empty:
          none) and the models its keys may call.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="grid gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            update.mutate(
              {
                name: name.trim(),
                dailyBudgetMicros: parseAmount(daily)?.toString() ?? null,
                monthlyBudgetMicros: parseAmount(monthly)?.toString() ?? null,
                allowedModels: allowed,
              },
              { onSuccess: () => toast.success("Settings saved") },
            );
          }}
        >
          <FormError message={update.error && !Object.keys(errors).length ? update.error.message : null} />
          <Field id="org-settings-name" label="Name" error={errors.name}>
            <Input
              id="org-settings-name"
              required
              maxLength={100}
              className="max-w-md"
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          </Field>
          <div className="flex flex-wrap gap-3">
            <Field
              id="org-budget-daily"
              label="Daily budget (USD)"
              error={errors.dailyBudgetMicros ?? (bad(daily) ? "Not an amount" : null)}
            >
              <Input
                id="org-budget-daily"
                inputMode="decimal"
                className="w-40"
                value={daily}
                onChange={(e) => setDaily(e.target.value)}
              />
            </Field>
            <Field
              id="org-budget-monthly"
              label="Monthly budget (USD)"
              error={errors.monthlyBudgetMicros ?? (bad(monthly) ? "Not an amount" : null)}
            >
              <Input
                id="org-budget-monthly"
                inputMode="decimal"
                className="w-40"
                value={monthly}
                onChange={(e) => setMonthly(e.target.value)}
              />
            </Field>
          </div>
          <ModelsFieldset
            note={
              org.account.planAllowedModels.length
                ? `None checked means every model the plan allows (${org.account.planAllowedModels.join(", ")}); checking some narrows it.`
                : "None checked means every enabled model; checking some narrows the organization's keys to them."
            }
            choices={models}
            checked={allowed}
            onToggle={(model) => setAllowed((list) => toggled(list, model))}
            error={errors.allowedModels}
          />
          <div>
            <Button type="submit" disabled={update.isPending || !name.trim() || bad(daily) || bad(monthly)}>
              Save settings
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}

/** The available balance below which owners and billing members are emailed (owner, billing). */
export function LowBalanceSettings({ org }: { org: OrgView }) {
  const [threshold, setThreshold] = useState(toUsd(org.account.ownLowBalanceMicros));
  const update = useUpdateOrg(org.slug);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Low-balance alert</CardTitle>
        <CardDescription>
          Below this available balance the owner and billing members are emailed once (empty: the platform's
          default{org.account.ownLowBalanceMicros === null ? `, ${usd(org.account.lowBalanceMicros)}` : ""}).
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            update.mutate(
              { lowBalanceMicros: parseAmount(threshold)?.toString() ?? null },
              { onSuccess: () => toast.success("Alert threshold saved") },
            );
          }}
        >
          <Field id="org-low-balance" label="Threshold (USD)" error={bad(threshold) ? "Not an amount" : null}>
            <Input
              id="org-low-balance"
              inputMode="decimal"
              className="w-40"
              value={threshold}
              onChange={(e) => setThreshold(e.target.value)}
            />
          </Field>
          <Button type="submit" variant="outline" disabled={update.isPending || bad(threshold)}>
            Save threshold
          </Button>
        </form>
        <FormError message={update.error?.message} />
      </CardContent>
    </Card>
  );
}

/** The plan shown to everyone with settings; platform admins change it (and its seat price with it). */
export function PlanSettings({
  org,
  plans,
}: {
  org: OrgView;
  plans: { id: string; name: string; seatPriceMicros: number | null }[] | null;
}) {
  const [planId, setPlanId] = useState(org.account.planId ?? "");
  const update = useUpdateOrg(org.slug);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Plan</CardTitle>
        <CardDescription>
          <span data-testid="org-plan">{org.account.planName ?? "No plan (pay as you go)"}</span>
          {org.account.seatPriceMicros ? `: ${usd(org.account.seatPriceMicros)} a seat a month.` : "."}{" "}
          {plans ? "As a platform administrator you may change it." : "A platform administrator changes it."}
        </CardDescription>
      </CardHeader>
      {plans ? (
        <CardContent>
          <form
            className="flex flex-wrap items-end gap-3"
            onSubmit={(e) => {
              e.preventDefault();
              update.mutate({ planId: planId || null }, { onSuccess: () => toast.success("Plan changed") });
            }}
          >
            <Field id="org-plan-select" label="Plan">
              <select
                id="org-plan-select"
                className="h-9 rounded-md border border-input bg-transparent px-3 text-sm"
                value={planId}
                onChange={(e) => setPlanId(e.target.value)}
              >
                <option value="">No plan (pay as you go)</option>
                {plans.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                    {p.seatPriceMicros ? ` · ${usd(p.seatPriceMicros)} a seat` : ""}
                  </option>
                ))}
              </select>
            </Field>
            <Button
              type="submit"
              variant="outline"
              disabled={update.isPending || planId === (org.account.planId ?? "")}
            >
              Change plan
            </Button>
          </form>
          <FormError message={update.error?.message} />
        </CardContent>
      ) : null}
    </Card>
  );
}

/** Hands the organization to another member (owner only), after a confirmation. */
export function DangerZone({
  org,
  can,
  members,
}: {
  org: OrgView;
  can: OrgAbilities;
  members: { userId: string; email: string; role: string }[];
}) {
  const [target, setTarget] = useState("");
  const [confirming, setConfirming] = useState(false);
  const transfer = useTransfer(org.slug);
  if (!can.ownership) return null;
  const candidates = members.filter((m) => m.role !== "owner");
  const chosen = candidates.find((m) => m.userId === target);
  return (
    <Card className="border-destructive/50" data-testid="danger-zone">
      <CardHeader>
        <CardTitle className="text-destructive">Danger zone</CardTitle>
        <CardDescription>
          Transfer the ownership: the member you choose becomes the one owner, and the owner stays as an
          admin.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {candidates.length === 0 ? (
          <p className="text-sm text-muted-foreground">
            Invite a member first: only a member can become the owner.
          </p>
        ) : (
          <div className="flex flex-wrap items-end gap-3">
            <Field id="transfer-to" label="New owner">
              <select
                id="transfer-to"
                className="h-9 max-w-full rounded-md border border-input bg-transparent px-3 text-sm"
                value={target}
                onChange={(e) => setTarget(e.target.value)}
              >
                <option value="">Choose a member…</option>
                {candidates.map((m) => (
                  <option key={m.userId} value={m.userId}>
                    {m.email} ({m.role})
                  </option>
                ))}
              </select>
            </Field>
            <Button variant="destructive" disabled={!chosen} onClick={() => setConfirming(true)}>
              <Crown /> Transfer ownership
            </Button>
          </div>
        )}
        <FormError message={transfer.error?.message} />
      </CardContent>
      <Confirm
        open={confirming && Boolean(chosen)}
        title={`Make ${chosen?.email} the owner of ${org.name}?`}
        description="They can then manage everything, including handing it on; the current owner becomes an admin and cannot undo this."
        confirmLabel="Transfer ownership"
        destructive
        pending={transfer.isPending}
        onCancel={() => setConfirming(false)}
        onConfirm={() =>
          transfer.mutate(target, {
            onSuccess: () => toast.success(`${chosen?.email} now owns ${org.name}`),
            onSettled: () => setConfirming(false),
          })
        }
      />
    </Card>
  );
}
