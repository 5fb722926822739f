"use client";

import { useQuery } from "@tanstack/react-query";
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Money } from "@/components/billing/money";
import { ChartEmpty } from "@/components/charts/chart-empty";
import { percentTick, seriesColor, tooltipStyle } from "@/components/charts/palette";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { QueryError } from "@/components/ui/data-table";
import Link from "@/components/ui/link";
import { UtcTime } from "@/components/ui/utc-time";
import type { overview } from "@/lib/analytics/overview";
import type { Json } from "@/lib/json";
import { api } from "@/lib/ui/api";
import { Figure, int, MoneyChart, NO_CALLS, pct } from "./usage-analytics";

type Overview = Json<Awaited<ReturnType<typeof overview>>>;
type Totals = Overview["today"];

function Period({ title, t, testId }: { title: string; t: Totals; testId: string }) {
  return (
    <Card data-testid={testId}>
      <CardHeader>
        <CardTitle>{title}</CardTitle>
      </CardHeader>
      <CardContent className="grid grid-cols-2 gap-2 sm:grid-cols-4">
        <Figure label="Calls" value={int(t.calls)} testId={`${testId}-calls`} />
        <Figure label="Tokens" value={int(Number(t.tokensIn) + Number(t.tokensOut))} />
        <Figure label="Revenue" value={<Money micros={t.revenueMicros} />} testId={`${testId}-revenue`} />
        <Figure label="Provider cost" value={<Money micros={t.costMicros} />} testId={`${testId}-cost`} />
        <Figure
          label="Margin"
          value={<Money micros={t.marginMicros} />}
          hint={pct(Number(t.marginMicros ?? 0), Number(t.revenueMicros))}
          testId={`${testId}-margin`}
        />
        <Figure label="Error rate" value={pct(t.failures, t.calls)} hint={`${int(t.failures)} failed`} />
        <Figure label="Active keys" value={int(t.activeKeys)} testId={`${testId}-keys`} />
        <Figure label="Active users" value={int(t.activeUsers)} />
      </CardContent>
    </Card>
  );
}

function Top({ title, rows, href }: { title: string; rows: Overview["top"]["users"]; href: string }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle className="text-base">{title}</CardTitle>
        <CardDescription>Last 30 days, by revenue</CardDescription>
      </CardHeader>
      <CardContent>
        {rows.length === 0 ? (
          <p className="text-sm text-muted-foreground">No calls yet.</p>
        ) : (
          <ol className="grid grid-cols-1 gap-1 text-sm">
            {rows.map((r) => (
              <li key={r.id} className="flex min-w-0 items-baseline justify-between gap-3">
                <Link
                  className="min-w-0 truncate hover:underline"
                  href={`${href}${encodeURIComponent(r.id)}`}
                  title={r.label}
                >
                  {r.label}
                </Link>
                <span className="shrink-0 tabular-nums">
                  <Money micros={r.revenueMicros} />
                </span>
              </li>
            ))}
          </ol>
        )}
      </CardContent>
    </Card>
  );
}

/** The admin's landing page; refreshed in the background every 30 s. */
export function OverviewPanel() {
  const { data, error, isLoading, refetch } = useQuery({
    queryKey: ["overview"],
    queryFn: () => api<Overview>("/api/v1/analytics/overview"),
    refetchInterval: 30_000,
  });
  if (error) return <QueryError error={error} retry={() => refetch()} />;
  if (isLoading || !data) {
    return (
      <div className="grid gap-4" aria-busy="true">
        {[0, 1, 2].map((i) => (
          <div key={i} className="h-40 animate-pulse rounded-lg bg-muted" />
        ))}
      </div>
    );
  }
  const hasCalls = data.hourly.some((p) => p.calls > 0);
  const errorRate = data.hourly.map((p) => ({
    at: p.at.slice(11, 16),
    rate: p.calls ? (p.failures / p.calls) * 100 : 0,
  }));
  return (
    <div className="grid grid-cols-1 gap-4">
      <div className="grid grid-cols-1 gap-4 2xl:grid-cols-2">
        <Period title="Today (UTC)" t={data.today} testId="overview-today" />
        <Period title="Last 30 days" t={data.last30Days} testId="overview-30d" />
      </div>
      <div className="grid grid-cols-1 gap-4 lg:grid-cols-3">
        <Card className="lg:col-span-2">
          <CardHeader>
            <CardTitle>Spend rate, last 24 hours</CardTitle>
            <CardDescription>
              Revenue, provider cost and margin per UTC hour, with calls and errors
            </CardDescription>
          </CardHeader>
          <CardContent>
            <MoneyChart points={data.hourly} bucket="hour" height={220} />
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Error rate, last 24 hours</CardTitle>
            <CardDescription>Failed calls ÷ all calls per hour</CardDescription>
          </CardHeader>
          <CardContent>
            {hasCalls ? (
              <div style={{ height: 220 }} data-testid="error-rate-chart">
                <ResponsiveContainer width="100%" height="100%">
                  <LineChart data={errorRate} margin={{ top: 8, right: 8 }}>
                    <CartesianGrid strokeDasharray="3 3" className="stroke-muted" />
                    <XAxis dataKey="at" tick={{ fontSize: 11 }} minTickGap={24} />
                    <YAxis
                      tickFormatter={percentTick}
                      tick={{ fontSize: 11 }}
                      width={48}
                      domain={[0, (max: number) => Math.max(1, Math.ceil(max))]}
                      allowDecimals={false}
                    />
                    <Tooltip
                      formatter={(v) => [`${Number(v).toFixed(1)}%`, "error rate"]}
                      contentStyle={tooltipStyle}
                    />
                    <Line dataKey="rate" name="error rate" stroke={seriesColor("errors")} dot={false} />
                  </LineChart>
                </ResponsiveContainer>
              </div>
            ) : (
              <ChartEmpty height={220} {...NO_CALLS} />
            )}
          </CardContent>
        </Card>
      </div>
      <Card>
        <CardHeader>
          <CardTitle>Last 30 days per day</CardTitle>
        </CardHeader>
        <CardContent>
          <MoneyChart points={data.daily} bucket="day" height={220} />
        </CardContent>
      </Card>
      <div className="grid grid-cols-1 gap-4 lg:grid-cols-3">
        <Top title="Top users" rows={data.top.users} href="/admin/analytics?by=user&userId=" />
        <Top title="Top keys" rows={data.top.keys} href="/admin/analytics?by=key&keyId=" />
        <Top title="Top models" rows={data.top.models} href="/admin/analytics?by=model&model=" />
      </div>
      <div className="grid grid-cols-1 gap-4 lg:grid-cols-3">
        <Card data-testid="overview-low">
          <CardHeader>
            <CardTitle className="text-base">Accounts running low</CardTitle>
            <CardDescription>Available balance under the account's low-balance threshold</CardDescription>
          </CardHeader>
          <CardContent>
            {data.lowAccounts.length === 0 ? (
              <p className="text-sm text-muted-foreground">
                None: every active account is above its threshold.
              </p>
            ) : (
              <ul className="grid grid-cols-1 gap-1 text-sm">
                {data.lowAccounts.map((a) => (
                  <li key={a.accountId} className="flex min-w-0 items-baseline justify-between gap-3">
                    <Link
                      className="min-w-0 truncate hover:underline"
                      href={`/admin/accounts/${a.accountId}`}
                      title={a.label}
                    >
                      {a.label}
                    </Link>
                    <span className="shrink-0 tabular-nums">
                      <Money micros={a.availableMicros} />{" "}
                      <span className="text-muted-foreground">
                        / <Money micros={a.thresholdMicros} />
                      </span>
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </CardContent>
        </Card>
        <Card data-testid="overview-reserved">
          <CardHeader>
            <CardTitle className="text-base">Reserved for calls now</CardTitle>
            <CardDescription>Open call holds and live gateway leases</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-1 text-sm">
            <div className="flex justify-between gap-3">
              <span>{int(data.reserved.openHolds)} open holds</span>
              <span className="shrink-0 tabular-nums">
                <Money micros={data.reserved.holdMicros} />
              </span>
            </div>
            <div className="flex justify-between gap-3">
              <span>{int(data.reserved.liveLeases)} live leases</span>
              <span className="shrink-0 tabular-nums">
                <Money micros={data.reserved.leaseMicros} />
              </span>
            </div>
          </CardContent>
        </Card>
        <Card data-testid="overview-settlement">
          <CardHeader>
            <CardTitle className="text-base">Last settlement</CardTitle>
            <CardDescription>The daily reconciliation of holds, events and the ledger</CardDescription>
          </CardHeader>
          <CardContent className="text-sm">
            {data.lastSettlement ? (
              <div className="grid gap-1">
                <div className="flex items-center justify-between">
                  <span>Day {data.lastSettlement.day}</span>
                  <Badge variant={data.lastSettlement.status === "completed" ? "default" : "destructive"}>
                    {data.lastSettlement.status}
                  </Badge>
                </div>
                <div className="text-muted-foreground">
                  {int(data.lastSettlement.varianceCount)} repairs,{" "}
                  {int(data.lastSettlement.invariantViolations)} invariant violations
                </div>
                <Link href="/admin/settlement" className="text-primary hover:underline">
                  Settlement runs →
                </Link>
              </div>
            ) : (
              <p className="text-muted-foreground">
                No run yet: the first runs after the first UTC midnight.
              </p>
            )}
          </CardContent>
        </Card>
      </div>
      <p className="text-xs text-muted-foreground">
        All times UTC. Generated <UtcTime at={data.generatedAt} />, refreshed every 30 s.
      </p>
    </div>
  );
}
