"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { RefreshCw } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { toast } from "@/components/ui/sonner";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import type { LiveModelInfo } from "@/lib/models/live";
import { api } from "@/lib/ui/api";
import type { ModelRow } from "../keys/queries";

const fmt = new Intl.NumberFormat("en-US");

export function ModelsPanel({ ttlSeconds }: { ttlSeconds: number }) {
  const qc = useQueryClient();
  const data = useQuery({
    queryKey: ["models", "live"],
    queryFn: () => api<{ items: ModelRow[]; live: LiveModelInfo }>("/api/v1/models?live=1"),
  });
  const refresh = useMutation({
    mutationFn: () => api<{ items: ModelRow[]; live: LiveModelInfo }>("/api/v1/models?live=fresh"),
    onSuccess: (fresh) => qc.setQueryData(["models", "live"], fresh),
  });
  const toggle = useMutation({
    mutationFn: (m: ModelRow) =>
      api(`/api/v1/models/${m.id}`, { method: "PATCH", body: { enabled: !m.enabled } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["models"] }),
    onError: (e) => toast.error(e.message),
  });
  // Free on purpose: served even on routes its price charges nothing for (billing contract, clause 44).
  const free = useMutation({
    mutationFn: (m: ModelRow) => api(`/api/v1/models/${m.id}`, { method: "PATCH", body: { free: !m.free } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["models"] }),
    onError: (e) => toast.error(e.message),
  });
  const live = data.data?.live;
  const served = new Map(live?.deployments.map((d) => [d.modelGroup, d]) ?? []);
  const age = live ? Math.max(0, Math.round((Date.now() - new Date(live.fetchedAt).getTime()) / 1000)) : 0;

  return (
    <div className="grid gap-6">
      <Card>
        <CardHeader className="flex flex-row items-start justify-between">
          <div className="grid gap-1.5">
            <CardTitle>Catalog</CardTitle>
            <CardDescription>
              Models apps may call. A disabled model is refused at the gateway for every key. A model is
              served only on the routes whose unit its price charges (tokens, images, characters, audio
              seconds), unless it is marked free.
            </CardDescription>
          </div>
          <div className="flex items-center gap-3 text-xs text-muted-foreground">
            {live ? (
              <span data-testid="live-status">
                Gateway {live.reachable ? "reachable" : `unreachable (${live.error})`} · live view from {age}s
                ago (cached {ttlSeconds}s)
              </span>
            ) : null}
            <Button size="sm" variant="outline" onClick={() => refresh.mutate()} disabled={refresh.isPending}>
              <RefreshCw /> Refresh
            </Button>
          </div>
        </CardHeader>
        <CardContent>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Model</TableHead>
                <TableHead>Provider</TableHead>
                <TableHead className="text-right">Context</TableHead>
                <TableHead className="text-right">Max output</TableHead>
                <TableHead>At the gateway</TableHead>
                <TableHead>Status</TableHead>
                <TableHead />
              </TableRow>
            </TableHeader>
            <TableBody>
              {data.data?.items.map((m) => {
                const d = served.get(m.litellmModelGroup);
                return (
                  <TableRow key={m.id} data-testid={`model-row-${m.publicName}`}>
                    <TableCell>
                      <div className="font-medium">{m.publicName}</div>
                      <div className="text-xs text-muted-foreground">{m.description}</div>
                    </TableCell>
                    <TableCell>{m.provider}</TableCell>
                    <TableCell className="text-right tabular-nums">{fmt.format(m.contextWindow)}</TableCell>
                    <TableCell className="text-right tabular-nums">{fmt.format(m.maxOutputTokens)}</TableCell>
                    <TableCell className="text-xs">
                      {d ? (
                        <span className="font-mono">{d.upstreamModel}</span>
                      ) : (
                        <Badge variant="warning">not served by the gateway</Badge>
                      )}
                    </TableCell>
                    <TableCell>
                      <div className="flex flex-wrap gap-1">
                        <Badge variant={m.enabled ? "success" : "secondary"}>
                          {m.enabled ? "enabled" : "disabled"}
                        </Badge>
                        {m.free ? <Badge variant="warning">free on purpose</Badge> : null}
                      </div>
                    </TableCell>
                    <TableCell className="space-x-2 whitespace-nowrap text-right">
                      <Button
                        size="sm"
                        variant="ghost"
                        onClick={() => free.mutate(m)}
                        disabled={free.isPending}
                        title={
                          m.free
                            ? "Serve it only where its price charges for the route's unit"
                            : "Serve it on every route, even where its price charges nothing"
                        }
                      >
                        {m.free ? "Charge by unit" : "Mark free"}
                      </Button>
                      <Button
                        size="sm"
                        variant="outline"
                        onClick={() => toggle.mutate(m)}
                        disabled={toggle.isPending}
                      >
                        {m.enabled ? "Disable" : "Enable"}
                      </Button>
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        </CardContent>
      </Card>
      {live?.reachable ? (
        <Card>
          <CardHeader>
            <CardTitle>Gateway deployments</CardTitle>
            <CardDescription>
              What LiteLLM serves right now (litellm/config.yaml), including groups not in the catalog.
            </CardDescription>
          </CardHeader>
          <CardContent>
            <Table>
              <TableHeader>
                <TableRow>
                  <TableHead>Model group</TableHead>
                  <TableHead>Upstream</TableHead>
                  <TableHead>API base</TableHead>
                  <TableHead>In catalog</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {live.deployments.map((d) => (
                  <TableRow key={`${d.modelGroup}-${d.upstreamModel}`}>
                    <TableCell className="font-medium">{d.modelGroup}</TableCell>
                    <TableCell className="font-mono text-xs">{d.upstreamModel}</TableCell>
                    <TableCell className="font-mono text-xs">{d.apiBase ?? "provider default"}</TableCell>
                    <TableCell>
                      {data.data?.items.some((m) => m.litellmModelGroup === d.modelGroup) ? "yes" : "no"}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </CardContent>
        </Card>
      ) : null}
    </div>
  );
}
