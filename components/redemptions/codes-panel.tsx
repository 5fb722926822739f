"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Download, Ticket } from "lucide-react";
import { useState } from "react";
import { Money } from "@/components/billing/money";
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
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableMessage,
  TableRow,
  TableTimeCell,
  TableTruncate,
} from "@/components/ui/table";
import { UtcTime } from "@/components/ui/utc-time";
import { parseUsd } from "@/lib/billing/money";
import type { Json } from "@/lib/json";
import type { Redemption, RedemptionBatch } from "@/lib/redemptions/types";
import { api, fieldErrors } from "@/lib/ui/api";

type Batch = Json<RedemptionBatch>;

export function CodesPanel() {
  const [selected, setSelected] = useState<string | null>(null);
  const { data, isLoading } = useQuery({
    queryKey: ["redemption-batches"],
    queryFn: () => api<{ items: Batch[] }>("/api/v1/redemption-batches"),
  });
  return (
    <div className="grid grid-cols-1 gap-6">
      <div className="flex justify-end">
        <NewBatchDialog />
      </div>
      <Card>
        <CardHeader>
          <CardTitle>Batches</CardTitle>
          <CardDescription>
            Each code credits its amount once, to the account that redeems it first. Codes are stored hashed:
            they are shown only when created.
          </CardDescription>
        </CardHeader>
        <CardContent>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Created</TableHead>
                <TableHead>Note</TableHead>
                <TableHead className="text-right">Amount each</TableHead>
                <TableHead className="text-right">Redeemed</TableHead>
                <TableHead>Expires</TableHead>
                <TableHead>By</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {isLoading ? <TableMessage colSpan={6}>Loading…</TableMessage> : null}
              {data?.items.length === 0 ? (
                <TableMessage colSpan={6}>No codes yet. Create a batch to hand out credit.</TableMessage>
              ) : null}
              {data?.items.map((b) => (
                <TableRow
                  key={b.id}
                  data-testid={`batch-${b.note || b.id}`}
                  className="cursor-pointer focus-visible:bg-muted/60 focus-visible:outline-none"
                  tabIndex={0}
                  data-state={b.id === selected ? "selected" : undefined}
                  onClick={() => setSelected(b.id === selected ? null : b.id)}
                  onKeyDown={(e) => {
                    if (e.key === "Enter") setSelected(b.id === selected ? null : b.id);
                  }}
                >
                  <TableTimeCell iso={b.createdAt} />
                  <TableCell>
                    {b.note ? (
                      <TableTruncate text={b.note} />
                    ) : (
                      <span className="text-muted-foreground">—</span>
                    )}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">
                    <Money micros={b.amountMicros} />
                  </TableCell>
                  <TableCell className="text-right tabular-nums">
                    {b.redeemedCount} / {b.codeCount}
                  </TableCell>
                  <TableCell>
                    {b.expiresAt ? (
                      new Date(b.expiresAt) < new Date() ? (
                        <Badge variant="secondary">expired</Badge>
                      ) : (
                        <UtcTime at={b.expiresAt} className="text-xs text-muted-foreground" />
                      )
                    ) : (
                      <span className="text-muted-foreground">never</span>
                    )}
                  </TableCell>
                  <TableCell className="text-xs">
                    {b.createdByEmail ? <TableTruncate text={b.createdByEmail} /> : "—"}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </CardContent>
      </Card>
      {selected ? <Redemptions batchId={selected} /> : null}
    </div>
  );
}

function Redemptions({ batchId }: { batchId: string }) {
  const { data } = useQuery({
    queryKey: ["redemptions", batchId],
    queryFn: () => api<{ items: Json<Redemption>[] }>(`/api/v1/redemption-batches/${batchId}/redemptions`),
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Redemptions</CardTitle>
      </CardHeader>
      <CardContent>
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>When</TableHead>
              <TableHead>Code</TableHead>
              <TableHead>Redeemed by</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {data?.items.length === 0 ? <TableMessage colSpan={3}>None redeemed yet.</TableMessage> : null}
            {data?.items.map((r) => (
              <TableRow key={`${r.prefix}-${r.redeemedAt}`}>
                <TableTimeCell iso={r.redeemedAt} />
                <TableCell className="font-mono text-xs">{r.prefix}…</TableCell>
                <TableCell>{r.userEmail ? <TableTruncate text={r.userEmail} /> : "—"}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}

function NewBatchDialog() {
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ amount: "", count: "10", expires: "", note: "" });
  const [codes, setCodes] = useState<string[] | null>(null);
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      api<{ codes: string[] }>("/api/v1/redemption-batches", { body }),
    onSuccess: ({ codes }) => {
      setCodes(codes);
      qc.invalidateQueries({ queryKey: ["redemption-batches"] });
    },
  });
  const errors = fieldErrors(create.error);
  const amount = parseUsd(form.amount);
  const ready = amount !== null && amount > 0n && Number(form.count) >= 1;
  const download = () => {
    const blob = new Blob([`code\n${codes!.join("\n")}\n`], { type: "text/csv" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `tollgate-codes-${form.note || "batch"}.csv`;
    a.click();
    URL.revokeObjectURL(a.href);
  };
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) {
          setCodes(null);
          create.reset();
        }
      }}
    >
      <DialogTrigger asChild>
        <Button>
          <Ticket /> New batch
        </Button>
      </DialogTrigger>
      <DialogContent className="sm:max-w-lg">
        {codes ? (
          <div className="grid gap-4">
            <DialogHeader>
              <DialogTitle>{codes.length} codes created</DialogTitle>
              <DialogDescription>Copy or download them now: they are not shown again.</DialogDescription>
            </DialogHeader>
            <pre
              data-testid="new-codes"
              className="max-h-64 overflow-auto rounded-md bg-muted p-3 font-mono text-sm"
            >
              {codes.join("\n")}
            </pre>
            <DialogFooter>
              <Button variant="outline" onClick={download}>
                <Download /> Download CSV
              </Button>
              <Button onClick={() => setOpen(false)}>Done</Button>
            </DialogFooter>
          </div>
        ) : (
          <form
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              if (!ready) return;
              create.mutate({
                amountMicros: amount!.toString(),
                count: Number(form.count),
                expiresAt: form.expires ? new Date(form.expires).toISOString() : null,
                note: form.note,
              });
            }}
          >
            <DialogHeader>
              <DialogTitle>New batch of codes</DialogTitle>
              <DialogDescription>
                Each code credits the amount once. Up to 1,000 codes per batch.
              </DialogDescription>
            </DialogHeader>
            <FormError message={create.error && !Object.keys(errors).length ? create.error.message : null} />
            <div className="grid grid-cols-2 gap-3">
              <Field id="batch-amount" label="Amount each (USD)" error={errors.amountMicros}>
                <Input
                  id="batch-amount"
                  value={form.amount}
                  onChange={(e) => setForm({ ...form, amount: e.target.value })}
                />
              </Field>
              <Field id="batch-count" label="How many codes" error={errors.count}>
                <Input
                  id="batch-count"
                  type="number"
                  min={1}
                  max={1000}
                  value={form.count}
                  onChange={(e) => setForm({ ...form, count: e.target.value })}
                />
              </Field>
              <Field id="batch-expires" label="Expires (local time, optional)" error={errors.expiresAt}>
                <Input
                  id="batch-expires"
                  type="datetime-local"
                  value={form.expires}
                  onChange={(e) => setForm({ ...form, expires: e.target.value })}
                />
              </Field>
              <Field id="batch-note" label="Note" error={errors.note}>
                <Input
                  id="batch-note"
                  value={form.note}
                  onChange={(e) => setForm({ ...form, note: e.target.value })}
                />
              </Field>
            </div>
            <DialogFooter>
              <Button type="submit" disabled={!ready || create.isPending}>
                Create codes
              </Button>
            </DialogFooter>
          </form>
        )}
      </DialogContent>
    </Dialog>
  );
}
