"use client";

import { useState } from "react";
import { ProviderKeysPanel } from "@/components/providers/provider-keys-panel";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { FormError } from "@/components/ui/form";
import { toast } from "@/components/ui/sonner";
import { decimalUsd, parseUsd } from "@/lib/billing/money";
import type { UpdateKeyBody } from "@/lib/keys/schemas";
import { fieldErrors } from "@/lib/ui/api";
import { expiresAtOf, KeyInput, LimitFields, ModelsFieldset, toggled } from "./key-fields";
import { type KeyRow, useModels, useUpdateKey } from "./queries";

/** A budget as the form shows it: exact dollars, trailing zeros past the cents dropped ("5.00", "0.0015"). */
export function usdText(micros: number | string | bigint | null): string {
  if (micros === null) return "";
  const [dollars, fraction = ""] = decimalUsd(BigInt(micros)).split(".");
  return `${dollars}.${fraction.replace(/0+$/, "").padEnd(2, "0")}`;
}

/** A typed amount in micro-USD (digits, exact), null for empty; "invalid" when it is not a plain amount ≥ 0. */
function budgetMicros(text: string): bigint | null | "invalid" {
  if (text.trim() === "") return null;
  const micros = parseUsd(text);
  return micros === null || micros < 0n ? "invalid" : micros;
}

function limitValue(text: string): number | null | "invalid" {
  if (text.trim() === "") return null;
  return /^\s*\d{1,10}\s*$/.test(text) && Number(text) >= 1 ? Number(text) : "invalid";
}

interface Form {
  name: string;
  models: string[];
  rpm: string;
  tpm: string;
  expires: string;
  daily: string;
  monthly: string;
  responseCache: boolean;
}

/** The two budget fields: the form's field (and id), the body's, what the label and hint say. */
const BUDGETS = [
  {
    field: "daily",
    body: "dailyBudgetMicros",
    label: "Daily budget (USD)",
    hint: "Per UTC day, reservations included. Empty: none.",
  },
  {
    field: "monthly",
    body: "monthlyBudgetMicros",
    label: "Monthly budget (USD)",
    hint: "Per UTC month, likewise. Empty: none.",
  },
] as const;

function formOf(key: KeyRow): Form {
  return {
    name: key.name,
    models: key.allowedModels,
    rpm: key.rpmLimit === null ? "" : String(key.rpmLimit),
    tpm: key.tpmLimit === null ? "" : String(key.tpmLimit),
    expires: key.expiresAt ? key.expiresAt.slice(0, 10) : "",
    daily: usdText(key.dailyBudgetMicros),
    monthly: usdText(key.monthlyBudgetMicros),
    responseCache: key.responseCache,
  };
}

/**
 * Edits a key after creation, prefilled with what it has: name, models, RPM/TPM limits, daily and monthly budgets
 * (dollars typed, sent as exact micro-USD) and expiry. Only what changed is sent; the gateway follows within
 * seconds.
 */
export function EditKeyDialog({ editing, onClose }: { editing: KeyRow; onClose: () => void }) {
  const [form, setForm] = useState<Form>(() => formOf(editing));
  const update = useUpdateKey();
  const models = useModels();
  const errors = fieldErrors(update.error);
  const initial = formOf(editing);

  const daily = budgetMicros(form.daily);
  const monthly = budgetMicros(form.monthly);
  const rpm = limitValue(form.rpm);
  const tpm = limitValue(form.tpm);
  const local = {
    dailyBudgetMicros: daily === "invalid" ? "Enter dollars, e.g. 5 or 0.25 (at most 6 decimals)" : null,
    monthlyBudgetMicros: monthly === "invalid" ? "Enter dollars, e.g. 50 or 12.5 (at most 6 decimals)" : null,
    rpmLimit: rpm === "invalid" ? "A whole number of requests, 1 or more" : null,
    tpmLimit: tpm === "invalid" ? "A whole number of tokens, 1 or more" : null,
  };
  const invalid = Object.values(local).some(Boolean);
  const toggle = (name: string) => setForm({ ...form, models: toggled(form.models, name) });

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (invalid) return;
    const body: UpdateKeyBody = {};
    if (form.name !== initial.name) body.name = form.name;
    const sameModels =
      form.models.length === initial.models.length && form.models.every((m) => initial.models.includes(m));
    if (!sameModels) body.allowedModels = form.models;
    if (form.rpm !== initial.rpm) body.rpmLimit = rpm as number | null;
    if (form.tpm !== initial.tpm) body.tpmLimit = tpm as number | null;
    if (form.expires !== initial.expires) body.expiresAt = expiresAtOf(form.expires);
    if (daily !== budgetMicros(initial.daily)) body.dailyBudgetMicros = daily === null ? null : String(daily);
    if (monthly !== budgetMicros(initial.monthly))
      body.monthlyBudgetMicros = monthly === null ? null : String(monthly);
    if (form.responseCache !== initial.responseCache) body.responseCache = form.responseCache;
    if (Object.keys(body).length === 0) {
      onClose();
      return;
    }
    update.mutate(
      { id: editing.id, body },
      {
        onSuccess: ({ key }) => {
          toast.success(`Saved ${key.name} (${key.prefix}…); the gateway applies it within seconds.`);
          onClose();
        },
      },
    );
  };

  const listed = models.data?.items.map((m) => m.publicName) ?? [];
  // A model the key names that left the catalog listing still shows, so it can be unchecked.
  const choices = [...listed, ...form.models.filter((m) => !listed.includes(m))];
  return (
    <Dialog open onOpenChange={(open) => (open ? null : onClose())}>
      <DialogContent className="max-h-[90vh] overflow-y-auto sm:max-w-xl" data-testid="edit-key-dialog">
        <form onSubmit={submit} className="grid gap-4" noValidate>
          <DialogHeader>
            <DialogTitle>Edit key {editing.prefix}…</DialogTitle>
            <DialogDescription>
              Changes reach the gateway within seconds; the secret stays the same.
            </DialogDescription>
          </DialogHeader>
          <FormError message={update.error && !Object.keys(errors).length ? update.error.message : null} />
          <KeyInput
            id="edit-key-name"
            label="Name"
            error={errors.name}
            required
            maxLength={100}
            value={form.name}
            onValue={(name) => setForm({ ...form, name })}
          />
          <ModelsFieldset
            note="None checked means every enabled model the plan allows; a key can narrow its plan, not widen it."
            choices={choices}
            checked={form.models}
            onToggle={toggle}
            error={errors.allowedModels}
          />
          <div className="grid gap-3 sm:grid-cols-2">
            {BUDGETS.map((b) => (
              <KeyInput
                key={b.field}
                id={`edit-key-${b.field}`}
                label={b.label}
                error={local[b.body] ?? errors[b.body]}
                hint={b.hint}
                inputMode="decimal"
                placeholder="no limit"
                value={form[b.field]}
                onValue={(value) => setForm({ ...form, [b.field]: value })}
              />
            ))}
          </div>
          <LimitFields
            idPrefix="edit-key"
            className="grid gap-3 sm:grid-cols-3"
            values={form}
            onChange={(patch) => setForm({ ...form, ...patch })}
            errors={{
              rpm: local.rpmLimit ?? errors.rpmLimit,
              tpm: local.tpmLimit ?? errors.tpmLimit,
              expires: errors.expiresAt,
            }}
            countInput={{ inputMode: "numeric" }}
          />
          <fieldset className="grid gap-1">
            <legend className="text-sm font-medium">Response cache</legend>
            <label className="flex items-center gap-2 text-sm">
              <input
                type="checkbox"
                data-testid="edit-key-response-cache"
                checked={form.responseCache}
                onChange={(e) => setForm({ ...form, responseCache: e.target.checked })}
              />
              Use the account's response cache
            </label>
            <p className="text-xs text-muted-foreground">
              When the account keeps answers (Guardrails &amp; cache), this key's repeated calls may be
              answered from it at the model's cache-hit price. Unchecked: its calls always go to the provider.
            </p>
          </fieldset>
          <DialogFooter>
            <Button type="button" variant="outline" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" disabled={update.isPending || invalid}>
              {update.isPending ? "Saving…" : "Save changes"}
            </Button>
          </DialogFooter>
        </form>
        <section className="grid gap-2 border-t pt-4" data-testid="edit-key-provider-keys">
          <h3 className="text-sm font-medium">Provider keys pinned to this key</h3>
          <p className="text-xs text-muted-foreground">
            A provider key stored here serves this key's calls before your own and your organization's (BYOK).
          </p>
          <ProviderKeysPanel org={null} keyId={editing.id} canChange />
        </section>
      </DialogContent>
    </Dialog>
  );
}
