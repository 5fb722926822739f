"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import {
  Bar,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { billedUnits, moneyTick, moneyTooltip } from "@/components/billing/format";
import { Money } from "@/components/billing/money";
import { ChartEmpty } from "@/components/charts/chart-empty";
import { SERIES, seriesColor, tooltipStyle } from "@/components/charts/palette";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { DataTable, QueryError } from "@/components/ui/data-table";
import { TableTruncate } from "@/components/ui/table";
import type { BreakdownRow, SeriesPoint, UsageTotals } from "@/lib/analytics/usage";
import type { Json } from "@/lib/json";
import { api } from "@/lib/ui/api";
import { formatUtc } from "@/lib/utils";
import { ByokLine, ByokSection } from "./byok-section";
import { CacheLine, CacheSection } from "./cache-section";
import { Figure, int, pct } from "./figures";
import { FilterBar, useUrlFilters } from "./filters";

type Totals = Json<UsageTotals>;
type Point = Json<SeriesPoint>;
type Breakdown = Json<BreakdownRow>;

interface UsageAnswer {
  range: { from: string; to: string };
  bucket: "hour" | "day";
  by: "model" | "kind" | "user" | "key";
  totals: Totals;
  series: Point[];
  breakdown: Breakdown[];
}

// The figures' formatting lives in ./figures (the cache and BYOK sections use it too, and this file renders them).
export { Figure, int, pct };
export const utcLabel = (iso: string) => formatUtc(iso);

/** What an empty chart of calls says, and where to go to make one. */
export const NO_CALLS = {
  message: "No calls in this range — make a call with an API key.",
  action: { href: "/account/keys", label: "Create or copy an API key" },
};

export function MoneyChart({
  points,
  bucket,
  height = 260,
  withCost = true,
}: {
  points: Point[];
  bucket: "hour" | "day";
  height?: number;
  /** Admins see provider cost and margin; a developer sees what they were charged. */
  withCost?: boolean;
}) {
  const data = points.map((p) => ({
    at: bucket === "hour" ? `${p.at.slice(5, 10)} ${p.at.slice(11, 16)}` : p.at.slice(0, 10),
    revenue: Number(p.revenueMicros) / 1e6,
    cost: Number(p.costMicros ?? 0) / 1e6,
    margin: (Number(p.revenueMicros) - Number(p.costMicros ?? 0)) / 1e6,
    calls: p.calls,
    errors: p.failures,
  }));
  if (!points.some((p) => p.calls > 0)) return <ChartEmpty height={height} {...NO_CALLS} />;
  return (
    <div style={{ height }} data-testid="usage-chart">
      <ResponsiveContainer width="100%" height="100%">
        <ComposedChart data={data} margin={{ left: 8, right: 8, top: 8 }}>
          <CartesianGrid strokeDasharray="3 3" className="stroke-muted" />
          <XAxis dataKey="at" tick={{ fontSize: 11 }} minTickGap={24} />
          <YAxis yAxisId="usd" tickFormatter={moneyTick} tick={{ fontSize: 11 }} width={80} />
          <YAxis
            yAxisId="calls"
            orientation="right"
            tick={{ fontSize: 11 }}
            allowDecimals={false}
            width={48}
            tickFormatter={(v: number) => int(v)}
          />
          <Tooltip
            formatter={(value, name) =>
              name === SERIES.calls.label || name === SERIES.errors.label
                ? [int(Number(value)), String(name)]
                : moneyTooltip(value, name)
            }
            contentStyle={tooltipStyle}
          />
          <Legend />
          <Bar
            yAxisId="usd"
            dataKey="revenue"
            name={withCost ? SERIES.revenue.label : "Charged"}
            fill={seriesColor("revenue")}
          />
          {withCost ? (
            <Bar yAxisId="usd" dataKey="cost" name={SERIES.cost.label} fill={seriesColor("cost")} />
          ) : null}
          {withCost ? (
            <Line
              yAxisId="usd"
              dataKey="margin"
              name={SERIES.margin.label}
              stroke={seriesColor("margin")}
              strokeWidth={2}
              dot={false}
            />
          ) : null}
          <Line
            yAxisId="calls"
            dataKey="calls"
            name={SERIES.calls.label}
            stroke={seriesColor("calls")}
            dot={false}
          />
          <Line
            yAxisId="calls"
            dataKey="errors"
            name={SERIES.errors.label}
            stroke={seriesColor("errors")}
            dot={false}
          />
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}

/**
 * A table's columns as a developer sees their own calls: no provider cost or margin (nor the columns named in
 * `hidden`), and revenue read as what they were charged.
 */
export function developerColumns<T>(columns: ColumnDef<T, unknown>[], hidden: string[] = []) {
  return columns
    .filter((c) => c.id !== "cost" && c.id !== "margin" && !hidden.includes(c.id ?? ""))
    .map((c) => (c.id === "revenue" ? { ...c, header: "Charged" } : c));
}

const BY_LABEL = { model: "Model", kind: "Call kind", user: "User", key: "Key" } as const;
type By = keyof typeof BY_LABEL;

/** What each group was charged first (revenue, cost, margin), then its calls, errors and units. */
function breakdownColumns(by: By): ColumnDef<Breakdown, unknown>[] {
  return [
    {
      id: "label",
      accessorKey: "label",
      header: BY_LABEL[by],
      cell: ({ row }) => (
        <div>
          <TableTruncate text={row.original.label} className="font-medium" />
          {row.original.detail ? (
            <TableTruncate text={row.original.detail} className="font-mono text-xs text-muted-foreground" />
          ) : null}
        </div>
      ),
    },
    moneyColumn<Breakdown>("revenue", "Revenue"),
    moneyColumn<Breakdown>("cost", "Provider cost"),
    moneyColumn<Breakdown>("margin", "Margin", (r) => (
      <span>
        <Money micros={r.marginMicros} />{" "}
        <span className="text-xs text-muted-foreground">
          {pct(Number(r.marginMicros ?? 0), Number(r.revenueMicros))}
        </span>
      </span>
    )),
    {
      id: "calls",
      accessorKey: "calls",
      header: "Calls",
      meta: { numeric: true },
      cell: ({ getValue }) => int(getValue() as number),
    },
    {
      id: "errors",
      accessorFn: (r) => (r.calls ? r.failures / r.calls : 0),
      header: "Errors",
      meta: { numeric: true },
      cell: ({ row }) => pct(row.original.failures, row.original.calls),
    },
    {
      id: "tokens",
      accessorFn: (r) => Number(r.tokensIn) + Number(r.tokensOut),
      header: by === "model" || by === "kind" ? "Billed by" : "Tokens in / out",
      meta: { numeric: true },
      cell: ({ row }) =>
        row.original.images === undefined
          ? `${int(row.original.tokensIn)} / ${int(row.original.tokensOut)}`
          : billedUnits({
              kind: row.original.label,
              promptTokens: Number(row.original.tokensIn),
              completionTokens: Number(row.original.tokensOut),
              images: row.original.images,
              audioMs: row.original.audioMs ?? 0,
              characters: row.original.characters ?? 0,
            }),
    },
  ];
}

type MoneyField = "revenue" | "cost" | "margin";

/** A money column in micro-USD, sorted by amount: revenue, cost or margin (the ids developerColumns knows). */
export function moneyColumn<T extends { [K in `${MoneyField}Micros`]?: number | null }>(
  id: MoneyField,
  header: string,
  cell?: (row: T) => React.ReactNode,
): ColumnDef<T, unknown> {
  const field = `${id}Micros` as const;
  return {
    id,
    accessorFn: (r) => Number(r[field] ?? 0),
    header,
    meta: { numeric: true },
    cell: ({ row }) => (cell ? cell(row.original) : <Money micros={row.original[field]} />),
  };
}

/** Usage analytics: filters in the URL; totals, a chart and a breakdown that all follow them. */
export function UsageAnalytics({ scope = "admin" }: { scope?: "admin" | "me" }) {
  const admin = scope === "admin";
  const base = admin ? "/api/v1" : "/api/v1/me";
  const { filters, query, set } = useUrlFilters(["bucket", "by"]);
  const by = (filters.by as By | undefined) ?? "model";
  const { data, isLoading, error, refetch, isFetching } = useQuery({
    queryKey: ["analytics", base, query],
    queryFn: () => api<UsageAnswer>(`${base}/analytics/usage?${query}`),
    placeholderData: keepPreviousData,
    refetchInterval: 60_000,
  });
  const t = data?.totals;
  return (
    <div className="grid grid-cols-1 gap-4">
      <FilterBar filters={filters} set={set} base={base} admin={admin} />
      {error ? <QueryError error={error} retry={() => refetch()} /> : null}
      <div className="grid grid-cols-2 gap-3 md:grid-cols-4" data-testid="usage-totals">
        <Figure label="Calls" value={t ? int(t.calls) : "…"} testId="total-calls" />
        <Figure
          label="Error rate"
          value={t ? pct(t.failures, t.calls) : "…"}
          hint={t ? `${int(t.failures)} failed` : undefined}
        />
        <Figure label="Tokens in / out" value={t ? `${int(t.tokensIn)} / ${int(t.tokensOut)}` : "…"} />
        <Figure
          label={admin ? "Revenue" : "Charged"}
          value={t ? <Money micros={t.revenueMicros} /> : "…"}
          testId="total-revenue"
        />
        {admin ? (
          <>
            <Figure
              label="Provider cost"
              value={t ? <Money micros={t.costMicros} /> : "…"}
              testId="total-cost"
            />
            <Figure
              label="Margin"
              value={t ? <Money micros={t.marginMicros} /> : "…"}
              hint={t ? pct(Number(t.marginMicros ?? 0), Number(t.revenueMicros)) : undefined}
              testId="total-margin"
            />
            <Figure label="Active keys / users" value={t ? `${t.activeKeys} / ${t.activeUsers}` : "…"} />
          </>
        ) : (
          <Figure label="Keys used" value={t ? String(t.activeKeys) : "…"} />
        )}
      </div>
      {admin ? null : <CacheLine base={base} filters={filters} />}
      {admin ? null : <ByokLine base={base} filters={filters} />}
      <Card>
        <CardHeader className="flex flex-row flex-wrap items-start justify-between gap-4">
          <div>
            <CardTitle>
              {admin ? "Revenue, cost and margin" : "Spend"} per {data?.bucket ?? "…"}
              {isFetching && !isLoading ? (
                <span className="ml-2 text-xs text-muted-foreground">refreshing…</span>
              ) : null}
            </CardTitle>
            <CardDescription>
              {data ? `${utcLabel(data.range.from)} → ${utcLabel(data.range.to)}` : "Loading…"} · all times
              UTC
            </CardDescription>
          </div>
          <fieldset className="flex gap-1" aria-label="Chart buckets">
            {(["hour", "day"] as const).map((b) => (
              <Button
                key={b}
                size="sm"
                variant={data?.bucket === b ? "default" : "outline"}
                onClick={() => set({ bucket: b })}
              >
                Per {b}
              </Button>
            ))}
          </fieldset>
        </CardHeader>
        <CardContent>
          {isLoading ? (
            <div className="h-[260px] animate-pulse rounded-md bg-muted" />
          ) : data && data.totals.calls === 0 ? (
            <ChartEmpty
              height={260}
              message="No calls in this range with these filters — widen the range, clear a filter, or make a call with an API key."
              action={NO_CALLS.action}
            />
          ) : (
            <MoneyChart points={data?.series ?? []} bucket={data?.bucket ?? "day"} withCost={admin} />
          )}
        </CardContent>
      </Card>
      <Card>
        <CardHeader className="flex flex-row flex-wrap items-start justify-between gap-4">
          <div>
            <CardTitle>By {BY_LABEL[by].toLowerCase()}</CardTitle>
            <CardDescription>Top 50 by revenue in the range; click a header to sort.</CardDescription>
          </div>
          <fieldset className="flex gap-1" aria-label="Group by">
            {(admin ? (["model", "kind", "user", "key"] as const) : (["model", "kind", "key"] as const)).map(
              (b) => (
                <Button
                  key={b}
                  size="sm"
                  variant={by === b ? "default" : "outline"}
                  onClick={() => set({ by: b })}
                >
                  {BY_LABEL[b]}
                </Button>
              ),
            )}
          </fieldset>
        </CardHeader>
        <CardContent>
          <DataTable
            columns={admin ? breakdownColumns(by) : developerColumns(breakdownColumns(by))}
            data={data?.breakdown ?? []}
            loading={isLoading}
            rowTestId="breakdown-row"
            rowKey={(r) => r.id}
            empty="Nothing to group: no calls match."
          />
        </CardContent>
      </Card>
      {admin ? <CacheSection filters={filters} /> : null}
      {admin ? <ByokSection filters={filters} /> : null}
      <p className="text-xs text-muted-foreground">
        {admin
          ? "Money is exact to the micro-dollar: revenue is what accounts were charged, provider cost what the price book says the provider charges for the same calls."
          : "Money is exact to the micro-dollar: what each call was charged to your balance (a stream cut short is estimated, a failed call is free)."}
      </p>
    </div>
  );
}
