"use client";

import { Wallet } from "lucide-react";
import { useState } from "react";
import { Button } from "@/components/ui/button";
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
import { parseUsd } from "@/lib/billing/money";
import { fieldErrors } from "@/lib/ui/api";
import { usd } from "./format";
import { useCredit } from "./queries";

export function CreditDialog({ accountId, email }: { accountId: string; email: string | null }) {
  const [open, setOpen] = useState(false);
  const [amount, setAmount] = useState("");
  const [kind, setKind] = useState<"topup" | "grant" | "adjustment">("topup");
  const [reason, setReason] = useState("");
  // One key per dialog opening: a double click or a retry after a timeout cannot credit twice.
  const [idempotencyKey, setIdempotencyKey] = useState(() => crypto.randomUUID());
  const credit = useCredit(accountId);
  const micros = parseUsd(amount);
  const errors = fieldErrors(credit.error);
  const invalid = micros === null || micros === 0n || (kind !== "adjustment" && micros < 0n);

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (invalid || micros === null) return;
    credit.mutate(
      { amountMicros: micros.toString(), kind, reason, idempotencyKey },
      {
        onSuccess: ({ account }) => {
          toast.success(`Credited ${usd(Number(micros))}; balance now ${usd(account.balanceMicros)}`);
          setOpen(false);
          setAmount("");
          setReason("");
          setIdempotencyKey(crypto.randomUUID());
          credit.reset();
        },
      },
    );
  };

  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button>
          <Wallet /> Add funds
        </Button>
      </DialogTrigger>
      <DialogContent>
        <form onSubmit={submit} className="grid gap-4">
          <DialogHeader>
            <DialogTitle>Add funds{email ? ` to ${email}` : ""}</DialogTitle>
            <DialogDescription>Written to the ledger and the audit log with your reason.</DialogDescription>
          </DialogHeader>
          <FormError message={credit.error && !Object.keys(errors).length ? credit.error.message : null} />
          <Field id="credit-kind" label="Kind">
            <select
              id="credit-kind"
              className="h-9 rounded-md border border-input bg-transparent px-3 text-sm"
              value={kind}
              onChange={(e) => setKind(e.target.value as typeof kind)}
            >
              <option value="topup">Top-up (paid)</option>
              <option value="grant">Grant (free credit)</option>
              <option value="adjustment">Adjustment (may be negative)</option>
            </select>
          </Field>
          <Field
            id="credit-amount"
            label="Amount (USD)"
            error={
              errors.amountMicros ??
              (amount && invalid ? "Enter a dollar amount with at most 6 decimals" : null)
            }
            hint={micros !== null ? `${micros.toString()} micro-USD` : "e.g. 25 or 0.50"}
          >
            <Input
              id="credit-amount"
              inputMode="decimal"
              required
              value={amount}
              onChange={(e) => setAmount(e.target.value)}
            />
          </Field>
          <Field id="credit-reason" label="Reason" error={errors.reason}>
            <Input
              id="credit-reason"
              required
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              placeholder="Invoice 2026-114"
            />
          </Field>
          <DialogFooter>
            <Button type="submit" disabled={credit.isPending || invalid}>
              {credit.isPending ? "Saving…" : "Add funds"}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
