"use client";

import { Layers, Pencil } from "lucide-react";
import { useState } from "react";
import { usd } from "@/components/billing/format";
import { useModels } from "@/components/keys/queries";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "@/components/ui/dialog";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/sonner";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableMessage,
  TableRow,
  TableTruncate,
} from "@/components/ui/table";
import { parseUsd } from "@/lib/billing/money";
import { fieldErrors } from "@/lib/ui/api";
import { byokFee } from "./fee";
import { type PlanRow, usePlans, useSavePlan } from "./queries";

const none = <span className="text-muted-foreground">—</span>;
const count = (n: number | null) => (n === null ? none : n.toLocaleString("en-US"));
const money = (n: number | null) => (n === null ? none : usd(n));
const plural = (n: number, noun: string) => `${n.toLocaleString("en-US")} ${noun}${n === 1 ? "" : "s"}`;

export function PlansPanel() {
  const { data, isLoading, error } = usePlans();
  return (
    <div className="grid grid-cols-1 gap-6">
      <div className="flex justify-end">
        <PlanDialog />
      </div>
      <Card>
        <CardHeader>
          <CardTitle>Plans</CardTitle>
          <CardDescription>
            A user's keys inherit their plan's limits and models unless a key has its own; an organization on
            a plan pays its seat price per member and UTC month from its balance. Requests per day and budgets
            count per account in UTC days; changes reach the gateway within seconds.
          </CardDescription>
        </CardHeader>
        <CardContent>
          {error ? <p className="text-sm text-destructive">{error.message}</p> : null}
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Plan</TableHead>
                <TableHead className="text-right">Requests / day</TableHead>
                <TableHead className="text-right">RPM / TPM</TableHead>
                <TableHead className="text-right">Budget / day, month</TableHead>
                <TableHead>Models</TableHead>
                <TableHead className="text-right">Monthly credit</TableHead>
                <TableHead className="text-right">Seat / month</TableHead>
                <TableHead className="text-right">BYOK fee</TableHead>
                <TableHead className="text-right">
                  <span className="sr-only">Edit</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {isLoading ? <TableMessage colSpan={9}>Loading…</TableMessage> : null}
              {data?.items.length === 0 ? (
                <TableMessage colSpan={9}>No plans yet: users pay as they go. Create one above.</TableMessage>
              ) : null}
              {data?.items.map((p) => (
                <TableRow key={p.id} data-testid={`plan-row-${p.name}`}>
                  <TableCell className="min-w-44 whitespace-normal">
                    <div className="font-medium">{p.name}</div>
                    <div className="text-xs text-muted-foreground">{p.description}</div>
                    <div className="text-xs text-muted-foreground" data-testid={`plan-on-${p.name}`}>
                      {plural(p.users, "user")} · {plural(p.organizations, "organization")}
                    </div>
                  </TableCell>
                  <TableCell className="text-right tabular-nums">
                    {p.requestsPerDay === null ? (
                      <Badge variant="secondary">unlimited</Badge>
                    ) : (
                      count(p.requestsPerDay)
                    )}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">
                    {count(p.rpmLimit)} / {count(p.tpmLimit)}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">
                    {money(p.dailyBudgetMicros)} / {money(p.monthlyBudgetMicros)}
                  </TableCell>
                  <TableCell className="text-xs">
                    {p.allowedModels.length ? (
                      <TableTruncate text={p.allowedModels.join(", ")} className="max-w-48" />
                    ) : (
                      "all"
                    )}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{money(p.monthlyGrantMicros)}</TableCell>
                  <TableCell className="text-right tabular-nums" data-testid={`plan-seat-${p.name}`}>
                    {money(p.seatPriceMicros)}
                  </TableCell>
                  <TableCell className="text-right tabular-nums" data-testid={`plan-byok-${p.name}`}>
                    {byokFee(p.byokFeeBps, p.byokFeeRequestMicros)}
                  </TableCell>
                  <TableCell className="text-right">
                    <PlanDialog plan={p} />
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </CardContent>
      </Card>
    </div>
  );
}

const usdText = (micros: number | null) =>
  micros === null ? "" : (micros / 1_000_000).toFixed(6).replace(/\.?0+$/, "");
const intText = (n: number | null) => (n === null ? "" : String(n));

function PlanDialog({ plan }: { plan?: PlanRow }) {
  const save = useSavePlan();
  const models = useModels();
  const [open, setOpen] = useState(false);
  const blank = {
    name: plan?.name ?? "",
    description: plan?.description ?? "",
    requestsPerDay: intText(plan?.requestsPerDay ?? null),
    rpmLimit: intText(plan?.rpmLimit ?? null),
    tpmLimit: intText(plan?.tpmLimit ?? null),
    daily: usdText(plan?.dailyBudgetMicros ?? null),
    monthly: usdText(plan?.monthlyBudgetMicros ?? null),
    grant: usdText(plan?.monthlyGrantMicros ?? null),
    seat: usdText(plan?.seatPriceMicros ?? null),
    byok: String(plan?.byokFeeBps ?? 500),
    byokRequest: usdText(plan?.byokFeeRequestMicros ?? 0),
    models: plan?.allowedModels ?? [],
  };
  const [form, setForm] = useState(blank);
  const errors = fieldErrors(save.error);
  const int = (text: string) => (text.trim() === "" ? null : Number(text));
  const usdMicros = (text: string) => (text.trim() === "" ? null : parseUsd(text));
  const moneyTexts = [form.daily, form.monthly, form.grant, form.seat];
  const byokRequestMicros = form.byokRequest.trim() === "" ? 0n : parseUsd(form.byokRequest);
  const moneyFields = moneyTexts.map(usdMicros);
  const ready =
    form.name.trim() &&
    moneyTexts.every((t, i) => t.trim() === "" || (moneyFields[i] ?? -1n) >= 0n) &&
    (byokRequestMicros ?? -1n) >= 0n;
  const text = (
    key:
      | "name"
      | "description"
      | "requestsPerDay"
      | "rpmLimit"
      | "tpmLimit"
      | "daily"
      | "monthly"
      | "grant"
      | "seat"
      | "byok"
      | "byokRequest",
    label: string,
    error?: string,
    hint?: string,
  ) => (
    <Field id={`plan-${key}`} label={label} error={error} hint={hint}>
      <Input
        id={`plan-${key}`}
        value={form[key]}
        onChange={(e) => setForm({ ...form, [key]: e.target.value })}
      />
    </Field>
  );
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (next) setForm(blank);
      }}
    >
      <DialogTrigger asChild>
        {plan ? (
          <Button size="sm" variant="ghost" aria-label={`Edit ${plan.name}`}>
            <Pencil />
          </Button>
        ) : (
          <Button>
            <Layers /> New plan
          </Button>
        )}
      </DialogTrigger>
      <DialogContent className="sm:max-w-xl">
        <form
          className="grid gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            if (!ready) return;
            const body = {
              name: form.name.trim(),
              description: form.description.trim(),
              requestsPerDay: int(form.requestsPerDay),
              rpmLimit: int(form.rpmLimit),
              tpmLimit: int(form.tpmLimit),
              dailyBudgetMicros: moneyFields[0]?.toString() ?? null,
              monthlyBudgetMicros: moneyFields[1]?.toString() ?? null,
              monthlyGrantMicros: moneyFields[2]?.toString() ?? null,
              seatPriceMicros: moneyFields[3]?.toString() ?? null,
              byokFeeBps: Number(form.byok),
              byokFeeRequestMicros: Number(byokRequestMicros ?? 0n),
              allowedModels: form.models,
            };
            save.mutate(
              { id: plan?.id, body },
              {
                onSuccess: () => {
                  toast.success(plan ? `${body.name} saved` : `${body.name} created`);
                  setOpen(false);
                },
              },
            );
          }}
        >
          <DialogHeader>
            <DialogTitle>{plan ? `Edit ${plan.name}` : "New plan"}</DialogTitle>
            <DialogDescription>Empty fields mean no limit. Amounts in USD.</DialogDescription>
          </DialogHeader>
          <FormError message={save.error && !Object.keys(errors).length ? save.error.message : null} />
          <div className="grid grid-cols-2 gap-3">
            {text("name", "Name", errors.name)}
            {text("description", "Description", errors.description)}
            {text("requestsPerDay", "Requests per day (UTC)", errors.requestsPerDay)}
            {text("grant", "Monthly credit (USD)", errors.monthlyGrantMicros)}
            {text("rpmLimit", "Requests / min", errors.rpmLimit)}
            {text("tpmLimit", "Tokens / min", errors.tpmLimit)}
            {text("daily", "Daily budget (USD)", errors.dailyBudgetMicros)}
            {text("monthly", "Monthly budget (USD)", errors.monthlyBudgetMicros)}
            {text(
              "seat",
              "Seat price per month (USD)",
              errors.seatPriceMicros,
              "Organizations on this plan pay it per member each UTC month; a member who joins mid-month pays the days left.",
            )}
            {text(
              "byok",
              "BYOK fee (basis points)",
              errors.byokFeeBps,
              "Charged instead of the token price on calls served with the owner's own provider key: 500 = 5 % of the price-book price, rounded up per call.",
            )}
            {text(
              "byokRequest",
              "BYOK fee per call (USD)",
              errors.byokFeeRequestMicros,
              "Added to the share above on each BYOK call; together never more than the call's price-book price.",
            )}
          </div>
          <fieldset className="grid gap-2">
            <legend className="text-sm font-medium">Models (none checked: every model)</legend>
            <div className="flex flex-wrap gap-3">
              {models.data?.items.map((m) => (
                <label key={m.id} className="flex items-center gap-2 text-sm">
                  <input
                    type="checkbox"
                    checked={form.models.includes(m.publicName)}
                    onChange={(e) =>
                      setForm({
                        ...form,
                        models: e.target.checked
                          ? [...form.models, m.publicName]
                          : form.models.filter((n) => n !== m.publicName),
                      })
                    }
                  />
                  {m.publicName}
                </label>
              ))}
            </div>
          </fieldset>
          <DialogFooter>
            <Button type="submit" disabled={!ready || save.isPending}>
              {plan ? "Save plan" : "Create plan"}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
