"use client";

import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from "recharts";
import { DayChartFrame } from "@/components/charts/day-chart";
import { tooltipStyle } from "@/components/charts/palette";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableMessage,
  TableRow,
} from "@/components/ui/table";
import { UtcTime } from "@/components/ui/utc-time";
import type { ModelHealthRow } from "@/lib/routing/schemas";
import { type ModelHealthAnswer, useModelHealth } from "./queries";

const ms = (v: number | null) => (v == null ? "—" : `${v.toLocaleString("en-US")} ms`);
const pct = (v: number) => `${(v * 100).toFixed(v < 0.1 && v > 0 ? 1 : 0)}%`;

/** Admin → Model health: per model group, errors and latency over the last hour and day, and what rests now. */
export function ModelHealthPanel() {
  const { data, error, isLoading } = useModelHealth();
  return (
    <div className="grid grid-cols-1 gap-6">
      {error ? <p className="text-sm text-destructive">{error.message}</p> : null}
      <RestingCard data={data} loading={isLoading} />
      <LatencyChart rows={data?.hour ?? []} />
      <HealthTable title="Last hour" rows={data?.hour} loading={isLoading} testId="health-hour" />
      <HealthTable title="Last 24 hours" rows={data?.day} loading={isLoading} testId="health-day" />
    </div>
  );
}

function RestingCard({ data, loading }: { data: ModelHealthAnswer | undefined; loading: boolean }) {
  const gateway = data?.gateway;
  const models = gateway?.reachable ? gateway.health.models : [];
  const resting = models.filter((m) => m.state !== "closed");
  return (
    <Card data-testid="health-resting">
      <CardHeader>
        <CardTitle>Resting now</CardTitle>
        <CardDescription>
          {gateway?.reachable
            ? `As the gateway sees its own calls: a model whose calls failed rests for ${gateway.health.cooldownSeconds} s, then one trial call decides whether it serves again. Window: ${gateway.health.windowSeconds} s.`
            : "Routing skips a resting model until its cool-down is over."}
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-2 text-sm">
        {loading ? <p className="text-muted-foreground">Loading…</p> : null}
        {gateway && !gateway.reachable ? (
          <p className="text-destructive" data-testid="gateway-unreachable">
            The gateway cannot be asked right now ({gateway.error}): which models rest is unknown. The tables
            below come from usage data and are complete.
          </p>
        ) : null}
        {gateway?.reachable && resting.length === 0 ? (
          <p className="text-muted-foreground">
            No model rests: every model the gateway has called is serving.
          </p>
        ) : null}
        {resting.map((m) => (
          <div key={m.model} className="flex flex-wrap items-center gap-2" data-testid={`resting-${m.model}`}>
            <span className="font-mono font-medium">{m.model}</span>
            <Badge variant="destructive">{m.state === "open" ? "resting" : "trial call"}</Badge>
            <span className="text-muted-foreground">
              {m.failures} of {m.calls} calls failed in the window
              {m.restingUntil ? (
                <>
                  {" "}
                  · until <UtcTime at={m.restingUntil} />
                </>
              ) : null}
            </span>
          </div>
        ))}
      </CardContent>
    </Card>
  );
}

function LatencyChart({ rows }: { rows: ModelHealthRow[] }) {
  const data = rows
    .filter((r) => r.latencyP50Ms != null)
    .map((r) => ({ model: r.modelGroup, p50: r.latencyP50Ms, p95: r.latencyP95Ms }));
  if (data.length === 0) return null;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Latency, last hour</CardTitle>
        <CardDescription>
          Median and 95th percentile of served calls, start to end, per model group.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <DayChartFrame className="h-56" testId="health-latency-chart">
          <BarChart data={data} margin={{ left: 8, right: 8, top: 8 }}>
            <CartesianGrid vertical={false} strokeDasharray="3 3" className="stroke-border" />
            <XAxis dataKey="model" tickLine={false} axisLine={false} fontSize={11} />
            <YAxis
              tickLine={false}
              axisLine={false}
              fontSize={11}
              width={64}
              tickFormatter={(v) => `${v} ms`}
            />
            <Tooltip formatter={(v) => `${v} ms`} contentStyle={tooltipStyle} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            <Bar dataKey="p50" name="p50" fill="var(--chart-5)" radius={[3, 3, 0, 0]} />
            <Bar dataKey="p95" name="p95" fill="var(--chart-5)" fillOpacity={0.45} radius={[3, 3, 0, 0]} />
          </BarChart>
        </DayChartFrame>
      </CardContent>
    </Card>
  );
}

function HealthTable({
  title,
  rows,
  loading,
  testId,
}: {
  title: string;
  rows: ModelHealthRow[] | undefined;
  loading: boolean;
  testId: string;
}) {
  // Past a number of calls, latencies come from a sample of them (lib/routing/health.ts): said, with its size.
  const sampled = rows?.some((r) => r.sampledCalls < r.calls)
    ? rows.reduce((n, r) => n + r.sampledCalls, 0)
    : 0;
  return (
    <Card data-testid={testId}>
      <CardHeader>
        <CardTitle>{title}</CardTitle>
        <CardDescription>
          From usage data: every metered call, whichever gateway served it.
          {sampled
            ? ` Latencies from a sample of ${sampled.toLocaleString("en-US")} of the window's calls.`
            : null}
        </CardDescription>
      </CardHeader>
      <CardContent>
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>Model group</TableHead>
              <TableHead className="text-right">Calls</TableHead>
              <TableHead className="text-right">Error rate</TableHead>
              <TableHead className="text-right">Latency p50 / p95</TableHead>
              <TableHead className="text-right">First token p50 / p95</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {loading ? <TableMessage colSpan={5}>Loading…</TableMessage> : null}
            {rows?.length === 0 ? <TableMessage colSpan={5}>No calls in this window.</TableMessage> : null}
            {rows?.map((r) => (
              <TableRow key={r.modelGroup} data-testid={`${testId}-${r.modelGroup}`}>
                <TableCell className="font-mono">{r.modelGroup}</TableCell>
                <TableCell className="text-right tabular-nums">{r.calls.toLocaleString("en-US")}</TableCell>
                <TableCell className="text-right tabular-nums">
                  {r.failures > 0 ? (
                    <span className={r.errorRate >= 0.5 ? "text-destructive" : undefined}>
                      {pct(r.errorRate)} ({r.failures})
                    </span>
                  ) : (
                    pct(0)
                  )}
                </TableCell>
                <TableCell className="text-right tabular-nums">
                  {ms(r.latencyP50Ms)} / {ms(r.latencyP95Ms)}
                </TableCell>
                <TableCell className="text-right tabular-nums">
                  {ms(r.ttftP50Ms)} / {ms(r.ttftP95Ms)}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}
