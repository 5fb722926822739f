"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Plus, Tags, X } from "lucide-react";
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
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableRow,
  TableTruncate,
} from "@/components/ui/table";
import { UtcTime } from "@/components/ui/utc-time";
import { parseUsd } from "@/lib/billing/money";
import { IMAGE_QUALITIES, imageRatesBody } from "@/lib/billing/schemas";
import { api, fieldErrors } from "@/lib/ui/api";
import { bpsPercent, parsePercentBps } from "./format";
import { usePrices } from "./queries";
import { priceLines, UNITS, type Unit, type Version } from "./units";

/** A typical call, per unit: 1,000 input and 500 output tokens, an image, a minute of audio, 1,000 characters. */
const TYPICAL: Record<string, number> = {
  input: 1000,
  output: 500,
  image: 1_000_000,
  audio: 60_000_000,
  characters: 1000,
  request: 1_000_000,
};

/** Margin on a typical call of what the model bills by, as a share of the sell price. */
function margin(v: Version): string {
  if (v.inputCostMicros === undefined) return "—";
  let sell = 0;
  let cost = 0;
  for (const unit of UNITS) {
    const n = TYPICAL[unit.key] ?? 0;
    sell += Number(v[unit.price] ?? 0) * n;
    cost += Number(v[unit.cost] ?? 0) * n;
  }
  return sell > 0 ? `${(((sell - cost) / sell) * 100).toFixed(1)}%` : "—";
}

/** A row of the form's image rates: a size (blank: any), a quality (blank: any), dollars of cost and price. */
interface SizeRow {
  id: number;
  size: string;
  quality: string;
  cost: string;
  price: string;
}

/** Sizes apps commonly ask for (the field takes any WIDTHxHEIGHT). */
const COMMON_SIZES = [
  "256x256",
  "512x512",
  "1024x1024",
  "1024x1536",
  "1536x1024",
  "1024x1792",
  "1792x1024",
  "auto",
];

/** A form row as the API takes it: dollars as micro-USD (text that is not dollars stays, and the schema refuses it). */
function rateBody(row: SizeRow) {
  const micros = (text: string) => parseUsd(text.trim())?.toString() ?? text;
  return {
    size: row.size.trim() || null,
    quality: row.quality || null,
    costMicros: micros(row.cost),
    priceMicros: micros(row.price),
  };
}

/** What the price-book API would say of an image-rate row (imageRatesBody), or null. */
function sizeRowProblem(row: SizeRow): string | null {
  const checked = imageRatesBody.safeParse([rateBody(row)]);
  if (checked.success) return null;
  const issue = checked.error.issues[0]!;
  const field = issue.path[issue.path.length - 1];
  if (field === "costMicros" || field === "priceMicros") return "cost and price: dollars, e.g. 0.08";
  return field === "size" || field === "quality" ? `${field}: ${issue.message}` : issue.message;
}

/** A version's rates, a line each ("input $3.00 / 1M tokens"); "—" when it prices nothing. */
function Lines({ lines }: { lines: string[] }) {
  if (!lines.length) return <>—</>;
  return (
    <>
      {lines.map((line) => (
        <div key={line}>{line}</div>
      ))}
    </>
  );
}

export function PricesPanel() {
  const { data } = usePrices();
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
            USD, each rate per the unit it is sold by. Margin on a typical call of what the model bills by
            (1,000 input and 500 output tokens, an image, a minute of audio, 1,000 characters). A call is
            charged at the version in force when it started, rounded up once to the micro-dollar. Cache hit:
            what an answer from the response cache is charged, as a share of the same call's price.
          </CardDescription>
        </CardHeader>
        <CardContent>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Model</TableHead>
                <TableHead>Sell price</TableHead>
                <TableHead>Provider cost</TableHead>
                <TableHead className="text-right">Margin</TableHead>
                <TableHead className="text-right">Cache hit</TableHead>
                <TableHead>Since</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {current.map((v) => (
                <TableRow key={v.id} data-testid={`price-row-${v.model}`}>
                  <TableCell className="align-top font-medium">{v.model}</TableCell>
                  <TableCell className="min-w-44 whitespace-normal align-top text-xs tabular-nums">
                    <Lines lines={priceLines(v, "price")} />
                  </TableCell>
                  <TableCell className="min-w-44 whitespace-normal align-top text-muted-foreground text-xs tabular-nums">
                    {v.inputCostMicros === undefined ? "—" : <Lines lines={priceLines(v, "cost")} />}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{margin(v)}</TableCell>
                  <TableCell className="text-right tabular-nums" data-testid="price-cache-hit">
                    {bpsPercent(v.cacheHitBps)}
                  </TableCell>
                  <TableCell className="text-xs text-muted-foreground">
                    <UtcTime at={String(v.effectiveFrom)} />
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
                <TableHead>Sell price</TableHead>
                <TableHead className="text-right">Margin</TableHead>
                <TableHead className="text-right">Cache hit</TableHead>
                <TableHead>Note</TableHead>
                <TableHead />
              </TableRow>
            </TableHeader>
            <TableBody>
              {versions.map((v) => (
                <TableRow key={v.id}>
                  <TableCell>{v.model}</TableCell>
                  <TableCell className="text-xs text-muted-foreground">
                    <UtcTime at={String(v.effectiveFrom)} />
                  </TableCell>
                  <TableCell className="min-w-44 whitespace-normal text-xs tabular-nums">
                    <Lines lines={priceLines(v, "price")} />
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{margin(v)}</TableCell>
                  <TableCell className="text-right tabular-nums">{bpsPercent(v.cacheHitBps)}</TableCell>
                  <TableCell>{v.note ? <TableTruncate text={v.note} /> : null}</TableCell>
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
  const [modelId, setModelId] = useState("");
  const [from, setFrom] = useState("");
  const [note, setNote] = useState("");
  // The cache-hit price as a percentage of the call's price (100: full price, the default).
  const [cacheHit, setCacheHit] = useState("100");
  const cacheHitBps = parsePercentBps(cacheHit);
  // Dollar text per unit and side ("" = blank).
  const [rates, setRates] = useState<Record<string, string>>({});
  const [sizes, setSizes] = useState<SizeRow[]>([]);
  const editSize = (id: number, patch: Partial<SizeRow>) =>
    setSizes(sizes.map((r) => (r.id === id ? { ...r, ...patch } : r)));
  const add = useMutation({
    mutationFn: (body: Record<string, unknown>) => api("/api/v1/prices", { body }),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["prices"] });
      toast.success("Price version added");
      setOpen(false);
      setRates({});
      setSizes([]);
      setCacheHit("100");
    },
  });
  const errors = fieldErrors(add.error);
  const parsed = (unit: Unit, side: "cost" | "price") => {
    const text = (rates[`${unit.key}.${side}`] ?? "").trim();
    return text === "" ? null : parseUsd(text);
  };
  const invalid = UNITS.flatMap((u) =>
    (["cost", "price"] as const).filter((side) => {
      const text = (rates[`${u.key}.${side}`] ?? "").trim();
      const value = parsed(u, side);
      return (u.required && text === "") || (text !== "" && (value === null || value < 0n));
    }),
  );
  // The rows together (each size and quality once), as the API checks them.
  const checkedRates = imageRatesBody.safeParse(sizes.map(rateBody));
  const duplicate = checkedRates.success
    ? null
    : (checkedRates.error.issues.find((i) => i.path.length === 0)?.message ?? null);
  const ready = modelId && invalid.length === 0 && checkedRates.success && cacheHitBps !== null;
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button>
          <Tags /> New price version
        </Button>
      </DialogTrigger>
      <DialogContent className="max-h-[92vh] overflow-y-auto sm:max-w-2xl">
        <form
          className="grid gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            if (!ready) return;
            const body: Record<string, unknown> = {
              modelId,
              effectiveFrom: from ? new Date(from).toISOString() : undefined,
              note,
            };
            for (const unit of UNITS) {
              for (const side of ["cost", "price"] as const) {
                const value = parsed(unit, side);
                // Blank: the fallback rate (null) for token classes, not billed (0) for the other units.
                if (value !== null) body[unit[side]] = value.toString();
                else if (unit.blank && unit.blank !== "0") body[unit[side]] = null;
              }
            }
            body.imageRates = sizes.map(rateBody);
            body.cacheHitBps = cacheHitBps;
            add.mutate(body);
          }}
        >
          <DialogHeader>
            <DialogTitle>New price version</DialogTitle>
            <DialogDescription>
              USD per the unit shown. Fill in what the model is billed by; leave the rest blank. Takes effect
              now, or at the time you set; never in the past.
            </DialogDescription>
          </DialogHeader>
          <FormError message={add.error && !Object.keys(errors).length ? add.error.message : null} />
          <Field id="price-model" label="Model">
            <select
              id="price-model"
              className="h-9 rounded-md border border-input bg-transparent px-3 text-sm"
              value={modelId}
              onChange={(e) => setModelId(e.target.value)}
            >
              <option value="">Choose…</option>
              {models.data?.items.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.publicName}
                </option>
              ))}
            </select>
          </Field>
          <div className="grid grid-cols-[minmax(0,1.3fr)_minmax(0,1fr)_minmax(0,1fr)] items-center gap-x-3 gap-y-2 text-sm">
            <span className="text-muted-foreground text-xs">Unit</span>
            <span className="text-muted-foreground text-xs">Provider cost</span>
            <span className="text-muted-foreground text-xs">Sell price</span>
            {UNITS.map((unit) => (
              <UnitRow
                key={unit.key}
                unit={unit}
                rates={rates}
                errors={errors}
                onChange={(key, text) => setRates({ ...rates, [key]: text })}
              />
            ))}
          </div>
          <fieldset className="grid gap-2 text-sm" data-testid="image-rates">
            <legend className="font-medium">Images by size and quality</legend>
            <p className="text-muted-foreground text-xs">
              Per image, for the sizes and qualities that cost more or less than the image price above (which
              covers every other image, including calls that name no size). The most specific row wins: size
              and quality, then size, then quality.
            </p>
            {sizes.length ? (
              <div className="grid grid-cols-[minmax(0,1.2fr)_minmax(0,1fr)_minmax(0,1fr)_minmax(0,1fr)_auto] items-center gap-x-2 gap-y-2">
                <span className="text-muted-foreground text-xs">Size</span>
                <span className="text-muted-foreground text-xs">Quality</span>
                <span className="text-muted-foreground text-xs">Provider cost</span>
                <span className="text-muted-foreground text-xs">Sell price</span>
                <span />
                {sizes.map((row, i) => (
                  <SizeRowInputs
                    key={row.id}
                    row={row}
                    index={i}
                    problem={sizeRowProblem(row) ?? errors[`imageRates.${i}`] ?? null}
                    onChange={(patch) => editSize(row.id, patch)}
                    onRemove={() => setSizes(sizes.filter((r) => r.id !== row.id))}
                  />
                ))}
              </div>
            ) : null}
            {duplicate || errors.imageRates ? (
              <p className="text-destructive text-xs">{duplicate ?? errors.imageRates}</p>
            ) : null}
            <datalist id="image-sizes">
              {COMMON_SIZES.map((size) => (
                <option key={size} value={size} />
              ))}
            </datalist>
            <div>
              <Button
                type="button"
                variant="outline"
                size="sm"
                onClick={() =>
                  setSizes([...sizes, { id: Date.now(), size: "", quality: "", cost: "", price: "" }])
                }
              >
                <Plus /> Add a size or quality
              </Button>
            </div>
          </fieldset>
          <Field
            id="price-cache-hit"
            label="Cache-hit price (% of the call's price)"
            error={
              errors.cacheHitBps ??
              (cacheHitBps === null ? "a percentage from 0 to 100, at most two decimals" : undefined)
            }
            hint="What a call answered from the response cache is charged: this share of what the same call served by the provider would cost, rounded up once. 100 %: full price; 0 %: free."
          >
            <div className="flex flex-wrap items-center gap-2">
              <Input
                id="price-cache-hit"
                className="w-28"
                inputMode="decimal"
                value={cacheHit}
                onChange={(e) => setCacheHit(e.target.value)}
              />
              <span className="text-muted-foreground text-sm">%</span>
              {["0", "10", "100"].map((preset) => (
                <Button
                  key={preset}
                  type="button"
                  size="sm"
                  variant={cacheHit.trim() === preset ? "secondary" : "outline"}
                  onClick={() => setCacheHit(preset)}
                >
                  {preset} %
                </Button>
              ))}
            </div>
          </Field>
          <Field id="price-from" label="Effective from (local time, optional)" error={errors.effectiveFrom}>
            <Input
              id="price-from"
              type="datetime-local"
              value={from}
              onChange={(e) => setFrom(e.target.value)}
            />
          </Field>
          <Field id="price-note" label="Note">
            <Input id="price-note" value={note} onChange={(e) => setNote(e.target.value)} />
          </Field>
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

function UnitRow({
  unit,
  rates,
  errors,
  onChange,
}: {
  unit: Unit;
  rates: Record<string, string>;
  errors: Record<string, string>;
  onChange: (key: string, text: string) => void;
}) {
  const input = (side: "cost" | "price") => {
    const key = `${unit.key}.${side}`;
    const error = errors[unit[side]];
    return (
      <div>
        <Input
          id={`price-${unit.key}-${side}`}
          aria-label={`${unit.label}, ${side === "cost" ? "provider cost" : "sell price"} per ${unit.per}`}
          inputMode="decimal"
          placeholder={unit.required ? "$" : `blank: ${unit.blank}`}
          value={rates[key] ?? ""}
          onChange={(e) => onChange(key, e.target.value)}
        />
        {error ? <p className="mt-1 text-destructive text-xs">{error}</p> : null}
      </div>
    );
  };
  return (
    <>
      <label htmlFor={`price-${unit.key}-cost`} className="leading-tight">
        {unit.label}
        <span className="block text-muted-foreground text-xs">per {unit.per}</span>
      </label>
      {input("cost")}
      {input("price")}
    </>
  );
}

function SizeRowInputs({
  row,
  index,
  problem,
  onChange,
  onRemove,
}: {
  row: SizeRow;
  index: number;
  problem: string | null;
  onChange: (patch: Partial<SizeRow>) => void;
  onRemove: () => void;
}) {
  const n = index + 1;
  return (
    <>
      <Input
        aria-label={`Image rate ${n}: size`}
        list="image-sizes"
        placeholder="any size"
        value={row.size}
        onChange={(e) => onChange({ size: e.target.value })}
      />
      <select
        aria-label={`Image rate ${n}: quality`}
        className="h-9 rounded-md border border-input bg-transparent px-2 text-sm"
        value={row.quality}
        onChange={(e) => onChange({ quality: e.target.value })}
      >
        <option value="">any quality</option>
        {IMAGE_QUALITIES.map((q) => (
          <option key={q} value={q}>
            {q}
          </option>
        ))}
      </select>
      <Input
        aria-label={`Image rate ${n}: provider cost per image`}
        inputMode="decimal"
        placeholder="$"
        value={row.cost}
        onChange={(e) => onChange({ cost: e.target.value })}
      />
      <Input
        aria-label={`Image rate ${n}: sell price per image`}
        inputMode="decimal"
        placeholder="$"
        value={row.price}
        onChange={(e) => onChange({ price: e.target.value })}
      />
      <Button
        type="button"
        variant="ghost"
        size="icon"
        aria-label={`Remove image rate ${n}`}
        onClick={onRemove}
      >
        <X />
      </Button>
      {problem && (row.cost || row.price || row.size || row.quality) ? (
        <p className="col-span-5 -mt-1 text-destructive text-xs">{problem}</p>
      ) : null}
    </>
  );
}
