"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Tags } from "lucide-react";
import { useState } from "react";
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
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { parseUsd } from "@/lib/billing/money";
import type { PriceVersion } from "@/lib/billing/prices";
import type { Json } from "@/lib/json";
import { api, fieldErrors } from "@/lib/ui/api";
import { usd } from "./format";

type Version = Json<PriceVersion>;

/** Margin on a typical call mix (1,000 input, 500 output tokens), as a share of the sell price. */
function margin(v: Version): string {
  if (v.inputCostMicros === undefined || v.outputCostMicros === undefined) return "—";
  const sell = v.inputPriceMicros * 1000 + v.outputPriceMicros * 500;
  const cost = v.inputCostMicros * 1000 + v.outputCostMicros * 500;
  return sell > 0 ? `${(((sell - cost) / sell) * 100).toFixed(1)}%` : "—";
}

const PER_M = "per 1M tokens";

export function PricesPanel() {
  const { data } = useQuery({
    queryKey: ["prices"],
    queryFn: () => api<{ items: Version[] }>("/api/v1/prices"),
  });
  const versions = data?.items ?? [];
  const current = versions.filter((v) => v.current);
  return (
    <div className="grid gap-6">
      <div className="flex justify-end">
        <AddPriceDialog />
      </div>
      <Card>
        <CardHeader>
          <CardTitle>Prices in force</CardTitle>
          <CardDescription>
            USD {PER_M}. Margin on a call of 1,000 input and 500 output tokens. A call is charged at the
            version in force when it started.
          </CardDescription>
        </CardHeader>
        <CardContent>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Model</TableHead>
                <TableHead className="text-right">Cost in / out</TableHead>
                <TableHead className="text-right">Price in / out</TableHead>
                <TableHead className="text-right">Margin</TableHead>
                <TableHead>Since</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {current.map((v) => (
                <TableRow key={v.id} data-testid={`price-row-${v.model}`}>
                  <TableCell className="font-medium">{v.model}</TableCell>
                  <TableCell className="text-right tabular-nums">
                    {usd(v.inputCostMicros)} / {usd(v.outputCostMicros)}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">
                    {usd(v.inputPriceMicros)} / {usd(v.outputPriceMicros)}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{margin(v)}</TableCell>
                  <TableCell className="text-muted-foreground">
                    {new Date(v.effectiveFrom).toLocaleString()}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>All versions</CardTitle>
          <CardDescription>
            Versions are never edited, only superseded; scheduled ones take effect at their time.
          </CardDescription>
        </CardHeader>
        <CardContent>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Model</TableHead>
                <TableHead>Effective from</TableHead>
                <TableHead className="text-right">Price in / out</TableHead>
                <TableHead className="text-right">Margin</TableHead>
                <TableHead>Note</TableHead>
                <TableHead />
              </TableRow>
            </TableHeader>
            <TableBody>
              {versions.map((v) => (
                <TableRow key={v.id}>
                  <TableCell>{v.model}</TableCell>
                  <TableCell className="text-muted-foreground">
                    {new Date(v.effectiveFrom).toLocaleString()}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">
                    {usd(v.inputPriceMicros)} / {usd(v.outputPriceMicros)}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{margin(v)}</TableCell>
                  <TableCell className="max-w-64 truncate">{v.note}</TableCell>
                  <TableCell>
                    {v.current ? (
                      <Badge variant="success">in force</Badge>
                    ) : new Date(v.effectiveFrom) > new Date() ? (
                      <Badge variant="warning">scheduled</Badge>
                    ) : (
                      <Badge variant="secondary">superseded</Badge>
                    )}
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

function AddPriceDialog() {
  const qc = useQueryClient();
  const models = useModels();
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({
    modelId: "",
    inCost: "",
    outCost: "",
    inPrice: "",
    outPrice: "",
    from: "",
    note: "",
  });
  const add = useMutation({
    mutationFn: (body: Record<string, unknown>) => api("/api/v1/prices", { body }),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["prices"] });
      toast.success("Price version added");
      setOpen(false);
    },
  });
  const errors = fieldErrors(add.error);
  const amounts = [form.inCost, form.outCost, form.inPrice, form.outPrice].map((t) => parseUsd(t));
  const ready = form.modelId && amounts.every((a) => a !== null && a >= 0n);
  const field = (key: keyof typeof form, label: string, error?: string) => (
    <Field id={`price-${key}`} label={label} error={error}>
      <Input
        id={`price-${key}`}
        value={form[key]}
        onChange={(e) => setForm({ ...form, [key]: e.target.value })}
      />
    </Field>
  );
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button>
          <Tags /> New price version
        </Button>
      </DialogTrigger>
      <DialogContent className="sm:max-w-xl">
        <form
          className="grid gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            if (!ready) return;
            add.mutate({
              modelId: form.modelId,
              inputCostMicros: amounts[0]!.toString(),
              outputCostMicros: amounts[1]!.toString(),
              inputPriceMicros: amounts[2]!.toString(),
              outputPriceMicros: amounts[3]!.toString(),
              effectiveFrom: form.from ? new Date(form.from).toISOString() : undefined,
              note: form.note,
            });
          }}
        >
          <DialogHeader>
            <DialogTitle>New price version</DialogTitle>
            <DialogDescription>
              USD {PER_M}. Takes effect now, or at the time you set; never in the past.
            </DialogDescription>
          </DialogHeader>
          <FormError message={add.error && !Object.keys(errors).length ? add.error.message : null} />
          <Field id="price-model" label="Model">
            <select
              id="price-model"
              className="h-9 rounded-md border border-input bg-transparent px-3 text-sm"
              value={form.modelId}
              onChange={(e) => setForm({ ...form, modelId: e.target.value })}
            >
              <option value="">Choose…</option>
              {models.data?.items.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.publicName}
                </option>
              ))}
            </select>
          </Field>
          <div className="grid grid-cols-2 gap-3">
            {field("inCost", "Provider cost, input", errors.inputCostMicros)}
            {field("outCost", "Provider cost, output", errors.outputCostMicros)}
            {field("inPrice", "Sell price, input", errors.inputPriceMicros)}
            {field("outPrice", "Sell price, output", errors.outputPriceMicros)}
          </div>
          <Field id="price-from" label="Effective from (local time, optional)" error={errors.effectiveFrom}>
            <Input
              id="price-from"
              type="datetime-local"
              value={form.from}
              onChange={(e) => setForm({ ...form, from: e.target.value })}
            />
          </Field>
          {field("note", "Note")}
          <DialogFooter>
            <Button type="submit" disabled={!ready || add.isPending}>
              Add version
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
