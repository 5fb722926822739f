"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Play, RotateCcw } from "lucide-react";
import { useState } from "react";
import { Money } from "@/components/billing/money";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { FormError } from "@/components/ui/form";
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
import type { Json } from "@/lib/json";
import type { Job } from "@/lib/queue";
import type { Variance as RunVariance, SettlementRun } from "@/lib/settlement/views";
import { api } from "@/lib/ui/api";

type Run = Json<SettlementRun>;
type Variance = Json<RunVariance>;

type DeadJob = Json<Job>;

const STATUS = { running: "warning", completed: "success", failed: "destructive" } as const;

/** What a variance is about: its call, or an aggregated variance's call count (orphans are reported per account:
 * docs/adr/0026). */
function callCell(callId: string | null, detail: unknown) {
  if (callId) return <TableTruncate text={callId} className="max-w-40" />;
  const calls = (detail as { calls?: unknown } | null)?.calls;
  return typeof calls === "number" && calls > 0 ? `${calls} calls` : "—";
}

export function SettlementPanel() {
  const qc = useQueryClient();
  const [selected, setSelected] = useState<string | null>(null);
  const [day, setDay] = useState(() => new Date(Date.now() - 86_400_000).toISOString().slice(0, 10));
  const runs = useQuery({
    queryKey: ["settlement", "runs"],
    queryFn: () => api<{ items: Run[] }>("/api/v1/settlement/runs"),
    refetchInterval: 5000,
  });
  const queue = useQuery({
    queryKey: ["settlement", "queue"],
    queryFn: () => api<{ stats: Record<string, number>; dead: DeadJob[] }>("/api/v1/settlement/queue"),
    refetchInterval: 5000,
  });
  const detail = useQuery({
    queryKey: ["settlement", "run", selected],
    queryFn: () => api<{ run: Run; variances: Variance[] }>(`/api/v1/settlement/runs/${selected}`),
    enabled: Boolean(selected),
  });
  const start = useMutation({
    mutationFn: () =>
      api<{ runId: string; chunks: number; started: boolean }>("/api/v1/settlement/runs", { body: { day } }),
    onSuccess: (r) => {
      toast.success(
        r.started
          ? `Settlement of ${day} queued (${r.chunks} chunk jobs)`
          : `Settlement of ${day} is already running`,
      );
      setSelected(r.runId);
      qc.invalidateQueries({ queryKey: ["settlement"] });
    },
  });
  const retry = useMutation({
    mutationFn: (id: string) => api(`/api/v1/settlement/queue/${id}/retry`, { method: "POST" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["settlement", "queue"] }),
  });

  return (
    <div className="grid grid-cols-1 gap-6">
      <div className="grid grid-cols-1 gap-4 md:grid-cols-2">
        <Card>
          <CardHeader>
            <CardTitle>Run settlement</CardTitle>
            <CardDescription>
              The daily cron settles yesterday (UTC). Re-running a day is safe: it changes nothing already
              right.
            </CardDescription>
          </CardHeader>
          <CardContent className="grid gap-3">
            <form
              className="flex flex-wrap items-center gap-2"
              onSubmit={(e) => {
                e.preventDefault();
                start.mutate();
              }}
            >
              <Input
                aria-label="Day to settle"
                type="date"
                className="w-44"
                value={day}
                onChange={(e) => setDay(e.target.value)}
              />
              <Button type="submit" disabled={start.isPending}>
                <Play /> Run settlement
              </Button>
            </form>
            <FormError message={start.error?.message} />
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Queue</CardTitle>
            <CardDescription>Jobs by state; the drain cron runs them every minute.</CardDescription>
          </CardHeader>
          <CardContent className="flex flex-wrap gap-2" data-testid="queue-stats">
            {Object.entries(queue.data?.stats ?? {}).map(([state, n]) => (
              <Badge key={state} variant={state === "dead" && n > 0 ? "destructive" : "secondary"}>
                {state}: {n}
              </Badge>
            ))}
          </CardContent>
        </Card>
      </div>
      {queue.data?.dead.length ? (
        <Card>
          <CardHeader>
            <CardTitle>Dead jobs</CardTitle>
            <CardDescription>Out of attempts. Fix the cause, then retry.</CardDescription>
          </CardHeader>
          <CardContent>
            <Table>
              <TableBody>
                {queue.data.dead.map((j) => (
                  <TableRow key={j.id}>
                    <TableCell className="font-mono text-xs">#{j.id}</TableCell>
                    <TableCell>{j.name}</TableCell>
                    <TableCell className="text-xs text-destructive">
                      <TableTruncate text={j.lastError ?? ""} className="max-w-96" />
                    </TableCell>
                    <TableCell className="text-right">
                      <Button size="sm" variant="outline" onClick={() => retry.mutate(j.id)}>
                        <RotateCcw /> Retry
                      </Button>
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </CardContent>
        </Card>
      ) : null}
      <Card>
        <CardHeader>
          <CardTitle>Runs</CardTitle>
          <CardDescription>Select a run to see each discrepancy it found and repaired.</CardDescription>
        </CardHeader>
        <CardContent>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Day</TableHead>
                <TableHead>Status</TableHead>
                <TableHead className="text-right">Jobs</TableHead>
                <TableHead className="text-right">Events</TableHead>
                <TableHead className="text-right">Holds replayed / released / estimated</TableHead>
                <TableHead className="text-right">Orphans</TableHead>
                <TableHead className="text-right">Overage</TableHead>
                <TableHead className="text-right">Variances</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {runs.data?.items.length === 0 ? (
                <TableMessage colSpan={8}>
                  No runs yet: the cron settles each UTC day after midnight, or run a day above.
                </TableMessage>
              ) : null}
              {runs.data?.items.map((r) => (
                <TableRow
                  key={r.id}
                  className="cursor-pointer"
                  data-testid={`run-row-${r.day}`}
                  onClick={() => setSelected(r.id)}
                >
                  <TableCell className="font-medium">
                    {r.day} <span className="text-xs text-muted-foreground">{r.trigger}</span>
                  </TableCell>
                  <TableCell>
                    <Badge variant={STATUS[r.status as keyof typeof STATUS] ?? "secondary"}>{r.status}</Badge>
                    {r.invariantViolations ? <Badge variant="destructive">invariant!</Badge> : null}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">
                    {r.jobsDone}/{r.jobsTotal}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{r.eventsExamined}</TableCell>
                  <TableCell className="text-right tabular-nums">
                    {r.holdsReplayed} / {r.holdsReleased} / {r.holdsEstimated}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{r.orphanEvents}</TableCell>
                  <TableCell className="text-right tabular-nums">
                    <Money micros={r.overageMicros} />
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{r.varianceCount}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </CardContent>
      </Card>
      {detail.data ? (
        <Card>
          <CardHeader>
            <CardTitle>Variances of {detail.data.run.day}</CardTitle>
            <CardDescription>
              {detail.data.run.varianceCount} discrepancies, each repaired or reported
              {detail.data.run.varianceCount > detail.data.variances.length
                ? ` (${detail.data.variances.length} shown: each kind's largest)`
                : ""}
              .
            </CardDescription>
          </CardHeader>
          <CardContent>
            <Table>
              <TableHeader>
                <TableRow>
                  <TableHead>Kind</TableHead>
                  <TableHead>Account</TableHead>
                  <TableHead>Call</TableHead>
                  <TableHead className="text-right">Amount</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {detail.data.variances.map((v) => (
                  <TableRow key={v.id} data-testid="variance-row">
                    <TableCell>
                      <Badge variant="outline">{v.kind}</Badge>
                    </TableCell>
                    <TableCell>{v.ownerEmail ? <TableTruncate text={v.ownerEmail} /> : "—"}</TableCell>
                    <TableCell className="font-mono text-xs">{callCell(v.callId, v.detail)}</TableCell>
                    <TableCell className="text-right tabular-nums">
                      <Money micros={v.amountMicros} />
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
