"use client";

import { Pencil, Route } from "lucide-react";
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
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select";
import { toast } from "@/components/ui/sonner";
import { Switch } from "@/components/ui/switch";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableMessage,
  TableRow,
} from "@/components/ui/table";
import { ROUTING_STRATEGIES, type RoutingStrategy } from "@/lib/routing/schemas";
import { fieldErrors } from "@/lib/ui/api";
import { useSaveVirtualModel, useVirtualModels, type VirtualModelRow } from "./queries";

const STRATEGY_TEXT: Record<RoutingStrategy, string> = {
  cheapest: "Cheapest: the lowest price in force (input + output per million tokens)",
  fastest: "Fastest: the lowest recent median latency at the gateway; unmeasured models are tried first",
  quality: "Quality: the highest score",
  balanced: "Balanced: quality × 2 + speed − log₁₀(price) × 2",
};

/** Admin → Models → Routing: virtual models (auto, auto:cheapest, …) and their candidates with quality scores. */
export function RoutingPanel() {
  const { data, isLoading, error } = useVirtualModels();
  return (
    <Card data-testid="routing-panel">
      <CardHeader className="flex flex-row items-start justify-between gap-4">
        <div className="grid gap-1.5">
          <CardTitle>Routing</CardTitle>
          <CardDescription>
            Virtual models apps call by name; the gateway picks a candidate per call among those the key may
            call and that are not resting after errors. A call is reserved for the dearest candidate and
            charged at the model that served it. Changes reach the gateway within 30 seconds.
          </CardDescription>
        </div>
        <VirtualModelDialog />
      </CardHeader>
      <CardContent>
        {error ? <p className="text-sm text-destructive">{error.message}</p> : null}
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>Virtual model</TableHead>
              <TableHead className="hidden md:table-cell">Strategy</TableHead>
              <TableHead className="whitespace-normal">Candidates (quality score)</TableHead>
              <TableHead className="hidden md:table-cell">Status</TableHead>
              <TableHead className="text-right">
                <span className="sr-only">Edit</span>
              </TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {isLoading ? <TableMessage colSpan={5}>Loading…</TableMessage> : null}
            {data?.items.length === 0 ? (
              <TableMessage colSpan={5}>No virtual models yet: apps call real models only.</TableMessage>
            ) : null}
            {data?.items.map((v) => (
              <TableRow key={v.id} data-testid={`virtual-row-${v.name}`}>
                <TableCell className="min-w-28 whitespace-normal">
                  <div className="font-mono font-medium break-all">{v.name}</div>
                  {/* On a phone the strategy and status columns fold in here. */}
                  <div className="text-xs text-muted-foreground md:hidden">
                    {v.strategy} · {v.enabled ? "enabled" : "disabled"}
                  </div>
                  {v.description ? (
                    <div className="text-xs text-muted-foreground">{v.description}</div>
                  ) : null}
                </TableCell>
                <TableCell className="hidden md:table-cell">
                  <Badge variant="secondary">{v.strategy}</Badge>
                </TableCell>
                <TableCell className="whitespace-normal">
                  <div className="flex flex-wrap gap-1.5">
                    {v.candidates.map((c) => (
                      <Badge key={c.model} variant="outline" className="font-mono">
                        {c.model} · {c.quality}
                      </Badge>
                    ))}
                  </div>
                </TableCell>
                <TableCell className="hidden md:table-cell">
                  {v.enabled ? <Badge>enabled</Badge> : <Badge variant="secondary">disabled</Badge>}
                </TableCell>
                <TableCell className="text-right">
                  <VirtualModelDialog virtual={v} />
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}

function VirtualModelDialog({ virtual }: { virtual?: VirtualModelRow }) {
  const save = useSaveVirtualModel();
  const models = useModels();
  const [open, setOpen] = useState(false);
  const blank = {
    name: virtual?.name ?? "",
    description: virtual?.description ?? "",
    strategy: (virtual?.strategy ?? "balanced") as RoutingStrategy,
    enabled: virtual?.enabled ?? true,
    scores: Object.fromEntries(
      (virtual?.candidates ?? []).map((c) => [c.model, String(c.quality)]),
    ) as Record<string, string>,
  };
  const [form, setForm] = useState(blank);
  const errors = fieldErrors(save.error);
  const candidates = Object.entries(form.scores).map(([model, score]) => ({ model, quality: Number(score) }));
  const scoresValid = candidates.every(
    (c) => Number.isInteger(c.quality) && c.quality >= 0 && c.quality <= 100,
  );
  const ready = form.name.trim() && candidates.length > 0 && scoresValid;
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (next) setForm(blank);
      }}
    >
      <DialogTrigger asChild>
        {virtual ? (
          <Button size="sm" variant="ghost" aria-label={`Edit ${virtual.name}`}>
            <Pencil />
          </Button>
        ) : (
          <Button>
            <Route /> New virtual model
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
              strategy: form.strategy,
              enabled: form.enabled,
              candidates,
            };
            save.mutate(
              { id: virtual?.id, body },
              {
                onSuccess: () => {
                  toast.success(virtual ? `${body.name} saved` : `${body.name} created`);
                  setOpen(false);
                },
              },
            );
          }}
        >
          <DialogHeader>
            <DialogTitle>{virtual ? `Edit ${virtual.name}` : "New virtual model"}</DialogTitle>
            <DialogDescription>
              A name no real model has (such as auto or auto:cheapest), a strategy, and the models it may
              route to, each with a quality score from 0 to 100.
            </DialogDescription>
          </DialogHeader>
          <FormError message={save.error && !Object.keys(errors).length ? save.error.message : null} />
          <div className="grid grid-cols-2 gap-3">
            <Field id="virtual-name" label="Name" error={errors.name}>
              <Input
                id="virtual-name"
                value={form.name}
                placeholder="auto:balanced"
                onChange={(e) => setForm({ ...form, name: e.target.value })}
              />
            </Field>
            <Field id="virtual-description" label="Description" error={errors.description}>
              <Input
                id="virtual-description"
                value={form.description}
                onChange={(e) => setForm({ ...form, description: e.target.value })}
              />
            </Field>
          </div>
          <Field
            id="virtual-strategy"
            label="Strategy"
            error={errors.strategy}
            hint={STRATEGY_TEXT[form.strategy]}
          >
            <Select
              value={form.strategy}
              onValueChange={(value) => setForm({ ...form, strategy: value as RoutingStrategy })}
            >
              <SelectTrigger id="virtual-strategy" className="w-48">
                <SelectValue />
              </SelectTrigger>
              <SelectContent>
                {ROUTING_STRATEGIES.map((s) => (
                  <SelectItem key={s} value={s}>
                    {s}
                  </SelectItem>
                ))}
              </SelectContent>
            </Select>
          </Field>
          <fieldset className="grid gap-2">
            <legend className="text-sm font-medium">Candidates and quality scores (0–100)</legend>
            {errors.candidates ? <p className="text-sm text-destructive">{errors.candidates}</p> : null}
            <div className="grid grid-cols-2 gap-2">
              {models.data?.items
                .filter((m) => m.enabled || form.scores[m.publicName] !== undefined)
                .map((m) => {
                  const on = form.scores[m.publicName] !== undefined;
                  return (
                    <div key={m.id} className="flex items-center gap-2 text-sm">
                      <label className="flex min-w-0 flex-1 items-center gap-2">
                        <input
                          type="checkbox"
                          checked={on}
                          onChange={(e) => {
                            const scores = { ...form.scores };
                            if (e.target.checked) scores[m.publicName] = "50";
                            else delete scores[m.publicName];
                            setForm({ ...form, scores });
                          }}
                        />
                        <span className="truncate font-mono">{m.publicName}</span>
                      </label>
                      <Input
                        aria-label={`Quality score of ${m.publicName}`}
                        className="h-8 w-16"
                        inputMode="numeric"
                        disabled={!on}
                        value={form.scores[m.publicName] ?? ""}
                        onChange={(e) =>
                          setForm({ ...form, scores: { ...form.scores, [m.publicName]: e.target.value } })
                        }
                      />
                    </div>
                  );
                })}
            </div>
          </fieldset>
          <div className="flex items-center gap-2 text-sm">
            <Switch
              id="virtual-enabled"
              checked={form.enabled}
              onCheckedChange={(enabled) => setForm({ ...form, enabled })}
            />
            <label htmlFor="virtual-enabled">
              Enabled (a disabled virtual model is refused to every key)
            </label>
          </div>
          <DialogFooter>
            <Button type="submit" disabled={!ready || save.isPending}>
              {virtual ? "Save virtual model" : "Create virtual model"}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
