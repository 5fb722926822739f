"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ChevronDown, ChevronRight, Pencil, Plus, RefreshCw } from "lucide-react";
import { Fragment, useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import Link from "@/components/ui/link";
import { toast } from "@/components/ui/sonner";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { hasOutputTokens, KIND_LABELS, kindsOfMode, OUTPUT_KINDS } from "@/lib/models/kinds";
import type { LiveDeployment, LiveModelInfo } from "@/lib/models/live";
import { api } from "@/lib/ui/api";
import { AddModelDialog, type CatalogRow, EditModelDialog } from "./model-dialog";

const fmt = new Intl.NumberFormat("en-US");

/**
 * The kinds a model is served for: its price's (billed_kinds). The four text kinds a token price bills together
 * read as one "Text" badge (its title lists them); unpriced, none — the gateway refuses it.
 */
function Kinds({ model }: { model: CatalogRow }) {
  if (!model.kinds.length) return <Badge variant="warning">no price: refused</Badge>;
  const text = [...OUTPUT_KINDS].every((k) => model.kinds.includes(k));
  const rest = text ? model.kinds.filter((k) => !OUTPUT_KINDS.has(k)) : model.kinds;
  return (
    <span className="flex flex-wrap gap-1">
      {text ? (
        <Badge variant="outline" title={[...OUTPUT_KINDS].map((k) => KIND_LABELS[k] ?? k).join(", ")}>
          Text
        </Badge>
      ) : null}
      {rest.map((k) => (
        <Badge key={k} variant="outline">
          {KIND_LABELS[k] ?? k}
        </Badge>
      ))}
    </span>
  );
}

export function ModelsPanel({ ttlSeconds }: { ttlSeconds: number }) {
  const qc = useQueryClient();
  const data = useQuery({
    queryKey: ["models", "live"],
    queryFn: () => api<{ items: CatalogRow[]; live: LiveModelInfo }>("/api/v1/models?live=1"),
  });
  const refresh = useMutation({
    mutationFn: () => api<{ items: CatalogRow[]; live: LiveModelInfo }>("/api/v1/models?live=fresh"),
    onSuccess: (fresh) => qc.setQueryData(["models", "live"], fresh),
  });
  const toggle = useMutation({
    mutationFn: (m: CatalogRow) =>
      api(`/api/v1/models/${m.id}`, { method: "PATCH", body: { enabled: !m.enabled } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["models"] }),
    onError: (e) => toast.error(e.message),
  });
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<CatalogRow | null>(null);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const live = data.data?.live;
  const items = data.data?.items ?? [];
  const served = new Map<string, LiveDeployment[]>();
  for (const d of live?.deployments ?? []) served.set(d.modelGroup, [...(served.get(d.modelGroup) ?? []), d]);
  const age = live ? Math.max(0, Math.round((Date.now() - new Date(live.fetchedAt).getTime()) / 1000)) : 0;
  const unlisted = [...served.keys()].filter((g) => !items.some((m) => m.litellmModelGroup === g));
  const flip = (id: string) => {
    const next = new Set(open);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setOpen(next);
  };
  // A model not priced yet has no kinds: its group's mode at the gateway says whether output tokens mean anything.
  const kindsOf = (m: CatalogRow) =>
    m.kinds.length ? m.kinds : kindsOfMode(served.get(m.litellmModelGroup)?.[0]?.mode);

  return (
    <div className="grid min-w-0 gap-6">
      <Card className="min-w-0">
        <CardHeader className="flex flex-col gap-3 sm:flex-row sm:items-start sm:justify-between">
          <div className="grid gap-1.5">
            <CardTitle>Catalog</CardTitle>
            <CardDescription>
              Models apps may call. A disabled model is refused at the gateway for every key. A model is
              served only on the routes whose unit its price charges (tokens, images, characters, audio
              seconds), unless it is marked free.
            </CardDescription>
          </div>
          <div className="flex shrink-0 flex-wrap items-center gap-2 text-muted-foreground text-xs">
            {live ? (
              <span data-testid="live-status" className="max-w-64">
                Gateway {live.reachable ? "reachable" : `unreachable (${live.error})`} · live view from {age}s
                ago (cached {ttlSeconds}s)
              </span>
            ) : null}
            <Button size="sm" variant="outline" onClick={() => refresh.mutate()} disabled={refresh.isPending}>
              <RefreshCw /> Refresh
            </Button>
            <Button size="sm" onClick={() => setAdding(true)}>
              <Plus /> Add model
            </Button>
          </div>
        </CardHeader>
        <CardContent>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead className="w-8">
                  <span className="sr-only">Details</span>
                </TableHead>
                <TableHead>Model</TableHead>
                <TableHead className="hidden sm:table-cell">Serves</TableHead>
                <TableHead className="hidden text-right md:table-cell">Context</TableHead>
                <TableHead className="hidden text-right md:table-cell">Max output</TableHead>
                <TableHead className="hidden 2xl:table-cell">At the gateway</TableHead>
                <TableHead className="hidden sm:table-cell">Status</TableHead>
                <TableHead>
                  <span className="sr-only">Actions</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {items.map((m) => {
                const deployments = served.get(m.litellmModelGroup) ?? [];
                const expanded = open.has(m.id);
                return (
                  <Fragment key={m.id}>
                    <TableRow data-testid={`model-row-${m.publicName}`}>
                      <TableCell className="w-8 px-1">
                        <Button
                          size="icon"
                          variant="ghost"
                          className="size-7"
                          aria-expanded={expanded}
                          aria-label={`${expanded ? "Hide" : "Show"} details of ${m.publicName}`}
                          onClick={() => flip(m.id)}
                        >
                          {expanded ? <ChevronDown /> : <ChevronRight />}
                        </Button>
                      </TableCell>
                      <TableCell>
                        <div className="break-all font-medium font-mono text-sm">{m.publicName}</div>
                        <div className="text-muted-foreground text-xs">{m.provider}</div>
                      </TableCell>
                      <TableCell className="hidden max-w-56 sm:table-cell">
                        <Kinds model={m} />
                      </TableCell>
                      <TableCell className="hidden text-right tabular-nums md:table-cell">
                        {fmt.format(m.contextWindow)}
                      </TableCell>
                      <TableCell
                        className="hidden text-right tabular-nums md:table-cell"
                        data-testid="max-output"
                      >
                        {hasOutputTokens(kindsOf(m)) ? (
                          fmt.format(m.maxOutputTokens)
                        ) : (
                          <span
                            className="text-muted-foreground"
                            title="This model does not answer in tokens"
                          >
                            —
                          </span>
                        )}
                      </TableCell>
                      <TableCell className="hidden max-w-48 text-xs 2xl:table-cell">
                        {deployments.length ? (
                          <span
                            className="block truncate font-mono"
                            title={deployments[0]!.upstreamModel ?? ""}
                          >
                            {deployments[0]!.upstreamModel}
                            {deployments.length > 1 ? ` +${deployments.length - 1}` : ""}
                          </span>
                        ) : live?.reachable ? (
                          <Badge variant="warning">not served</Badge>
                        ) : (
                          <span className="text-muted-foreground">unknown</span>
                        )}
                      </TableCell>
                      <TableCell className="hidden sm:table-cell">
                        <div className="flex flex-wrap gap-1">
                          <Badge variant={m.enabled ? "success" : "secondary"}>
                            {m.enabled ? "enabled" : "disabled"}
                          </Badge>
                          {m.free ? <Badge variant="warning">free</Badge> : null}
                          {live?.reachable && !deployments.length ? (
                            <Badge variant="warning">not served by the gateway</Badge>
                          ) : null}
                        </div>
                      </TableCell>
                      <TableCell className="whitespace-nowrap text-right">
                        <Button
                          size="sm"
                          variant="ghost"
                          aria-label={`Edit ${m.publicName}`}
                          onClick={() => setEditing(m)}
                        >
                          <Pencil /> <span className="hidden sm:inline">Edit</span>
                        </Button>
                        <Button
                          size="sm"
                          variant="outline"
                          className="hidden sm:inline-flex"
                          onClick={() => toggle.mutate(m)}
                          disabled={toggle.isPending}
                        >
                          {m.enabled ? "Disable" : "Enable"}
                        </Button>
                      </TableCell>
                    </TableRow>
                    {expanded ? (
                      <TableRow data-testid={`model-details-${m.publicName}`} className="bg-muted/30">
                        <TableCell />
                        <TableCell colSpan={7} className="whitespace-normal">
                          <dl className="grid gap-x-6 gap-y-1 text-sm sm:grid-cols-[10rem_1fr]">
                            <dt className="text-muted-foreground sm:hidden">Serves</dt>
                            <dd className="sm:hidden">
                              <Kinds model={m} />
                            </dd>
                            <dt className="text-muted-foreground md:hidden">Context · max output</dt>
                            <dd className="tabular-nums md:hidden">
                              {fmt.format(m.contextWindow)} ·{" "}
                              {hasOutputTokens(kindsOf(m)) ? fmt.format(m.maxOutputTokens) : "—"}
                            </dd>
                            <dt className="text-muted-foreground sm:hidden">Status</dt>
                            <dd className="flex flex-wrap items-center gap-2 sm:hidden">
                              {m.enabled ? "enabled" : "disabled"}
                              {m.free ? " · free on purpose" : ""}
                              {live?.reachable && !deployments.length ? " · not served by the gateway" : ""}
                              <Button
                                size="sm"
                                variant="outline"
                                onClick={() => toggle.mutate(m)}
                                disabled={toggle.isPending}
                              >
                                {m.enabled ? "Disable" : "Enable"}
                              </Button>
                            </dd>
                            <dt className="text-muted-foreground">Description</dt>
                            <dd>{m.description || "—"}</dd>
                            <dt className="text-muted-foreground">LiteLLM group</dt>
                            <dd className="font-mono">{m.litellmModelGroup}</dd>
                            <dt className="text-muted-foreground">Deployments</dt>
                            <dd className="grid gap-0.5 font-mono text-xs">
                              {deployments.length
                                ? deployments.map((d) => (
                                    <span key={`${d.upstreamModel}-${d.apiBase}`} className="break-all">
                                      {d.upstreamModel} · {d.apiBase ?? "provider default"}
                                      {d.mode ? ` · mode ${d.mode}` : ""}
                                    </span>
                                  ))
                                : "none at the gateway"}
                            </dd>
                            <dt className="text-muted-foreground">Price</dt>
                            <dd>
                              <Link className="underline" href={`/admin/prices?model=${m.id}`}>
                                {m.kinds.length ? "Price book" : "Set its price in the price book"}
                              </Link>
                              {" · "}
                              <Link className="underline" href={`/account/models/${m.id}`}>
                                Its page for developers
                              </Link>
                            </dd>
                          </dl>
                        </TableCell>
                      </TableRow>
                    ) : null}
                  </Fragment>
                );
              })}
            </TableBody>
          </Table>
        </CardContent>
      </Card>
      {live?.reachable ? (
        <Card className="min-w-0">
          <CardHeader>
            <CardTitle>Gateway deployments</CardTitle>
            <CardDescription>
              What LiteLLM serves right now (litellm/config.yaml), including groups not in the catalog
              {unlisted.length ? ` (${unlisted.length} not sold yet: add them with "Add model")` : ""}.
            </CardDescription>
          </CardHeader>
          <CardContent>
            <Table>
              <TableHeader>
                <TableRow>
                  <TableHead>Model group</TableHead>
                  <TableHead className="hidden sm:table-cell">Upstream</TableHead>
                  <TableHead className="hidden lg:table-cell">API base</TableHead>
                  <TableHead>In catalog</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {live.deployments.map((d) => (
                  <TableRow key={`${d.modelGroup}-${d.upstreamModel}-${d.apiBase}`}>
                    <TableCell className="font-medium">{d.modelGroup}</TableCell>
                    <TableCell
                      className="hidden max-w-56 truncate font-mono text-xs sm:table-cell"
                      title={d.upstreamModel ?? ""}
                    >
                      {d.upstreamModel}
                    </TableCell>
                    <TableCell
                      className="hidden max-w-64 truncate font-mono text-xs lg:table-cell"
                      title={d.apiBase ?? "provider default"}
                    >
                      {d.apiBase ?? "provider default"}
                    </TableCell>
                    <TableCell>
                      {items.some((m) => m.litellmModelGroup === d.modelGroup) ? "yes" : "no"}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </CardContent>
        </Card>
      ) : null}
      <AddModelDialog open={adding} onOpenChange={setAdding} live={live} catalog={items} />
      <EditModelDialog
        model={editing}
        mode={editing ? served.get(editing.litellmModelGroup)?.[0]?.mode : undefined}
        onOpenChange={(next) => {
          if (!next) setEditing(null);
        }}
      />
    </div>
  );
}
