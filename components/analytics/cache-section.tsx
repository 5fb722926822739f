"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Bar, CartesianGrid, ComposedChart, Legend, Tooltip, XAxis, YAxis } from "recharts";
import { moneyTick, moneyTooltip } from "@/components/billing/format";
import { Money } from "@/components/billing/money";
import { ChartEmpty } from "@/components/charts/chart-empty";
import { DayChartFrame, dayChart, dayLabel } from "@/components/charts/day-chart";
import { SERIES, seriesColor, tooltipStyle } from "@/components/charts/palette";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { QueryError } from "@/components/ui/data-table";
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
import type { CacheMeasures, CacheReport } from "@/lib/analytics/cache";
import { FILTER_KEYS } from "@/lib/analytics/schemas";
import type { Json } from "@/lib/json";
import { api } from "@/lib/ui/api";
import { Figure, int, pct } from "./figures";
import type { Filters } from "./filters";

type Report = Json<CacheReport>;

/** The usage filters of the page's address, without its view settings (bucket, by): what the cache report takes. */
function filterQuery(filters: Filters): string {
  const out = new URLSearchParams();
  for (const key of FILTER_KEYS) if (filters[key]) out.set(key, filters[key]!);
  return out.toString();
}

const useCacheReport = (base: string, filters: Filters) => {
  const query = filterQuery(filters);
  return useQuery({
    queryKey: ["analytics-cache", base, query],
    queryFn: () => api<Report>(`${base}/analytics/cache?${query}`),
    placeholderData: keepPreviousData,
    refetchInterval: 60_000,
  });
};

/** "12 of 80 calls (15.0%)". */
const hitLine = (m: Json<Pick<CacheMeasures, "calls" | "hits">>) =>
  `${int(m.hits)} of ${int(m.calls)} call${m.calls === 1 ? "" : "s"} (${pct(m.hits, m.calls)})`;

/**
 * A person's or an organization's line on their usage page: how many of their calls the response cache answered and
 * what it saved them over the filtered range.
 */
export function CacheLine({
  base,
  filters,
  label = "Response cache",
}: {
  base: string;
  filters: Filters;
  label?: string;
}) {
  const { data } = useCacheReport(base, filters);
  const t = data?.totals;
  return (
    <p className="text-sm text-muted-foreground" data-testid="cache-line">
      {label}:{" "}
      {t ? (
        <>
          <span className="text-foreground">{hitLine(t)}</span> answered from the cache, saving{" "}
          <Money micros={t.savedMicros} className="text-foreground" testId="cache-saved" />.
        </>
      ) : (
        "…"
      )}
    </p>
  );
}

/** Hits (right axis) and money saved (left axis) per UTC day. */
function CacheChart({ days }: { days: Report["daily"] }) {
  const rows = days.map((d) => ({ day: dayLabel(d.day), saved: Number(d.savedMicros) / 1e6, hits: d.hits }));
  return (
    <DayChartFrame className="h-56" testId="cache-chart">
      <ComposedChart data={rows} margin={dayChart.margin}>
        <CartesianGrid {...dayChart.grid} />
        <XAxis {...dayChart.xAxis} />
        <YAxis yAxisId="usd" {...dayChart.moneyYAxis} tickFormatter={moneyTick} />
        <YAxis
          yAxisId="hits"
          orientation="right"
          tickLine={false}
          axisLine={false}
          fontSize={11}
          allowDecimals={false}
          width={48}
          tickFormatter={(v: number) => int(v)}
        />
        <Tooltip
          formatter={(value, name) =>
            name === SERIES.hits.label ? [int(Number(value)), String(name)] : moneyTooltip(value, name)
          }
          labelFormatter={(label) => `Day ${label}`}
          contentStyle={tooltipStyle}
        />
        <Legend />
        <Bar yAxisId="usd" dataKey="saved" name={SERIES.saved.label} fill={seriesColor("saved")} />
        <Bar
          yAxisId="hits"
          dataKey="hits"
          name={SERIES.hits.label}
          fill={seriesColor("hits")}
          radius={[3, 3, 0, 0]}
        />
      </ComposedChart>
    </DayChartFrame>
  );
}

/**
 * The admin's "Response cache" section over the page's filters: totals, hits and savings per day, per model (hit
 * revenue: what the hits were charged at the model's cache-hit price) and per account.
 */
export function CacheSection({ filters }: { filters: Filters }) {
  const { data, error, isLoading, refetch } = useCacheReport("/api/v1", filters);
  const t = data?.totals;
  return (
    <Card data-testid="cache-section">
      <CardHeader>
        <CardTitle>Response cache</CardTitle>
        <CardDescription>
          Calls answered from the response cache over the range: charged the model's cache-hit price, at no
          provider cost. Saved is what customers did not pay: each hit's full price minus its cache-hit
          charge.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {error ? <QueryError error={error} retry={() => refetch()} /> : null}
        <div className="grid grid-cols-2 gap-3 md:grid-cols-4" data-testid="cache-totals">
          <Figure label="Cache hits" value={t ? int(t.hits) : "…"} testId="cache-hits" />
          <Figure
            label="Hit rate"
            value={t ? pct(t.hits, t.calls) : "…"}
            hint={t ? `of ${int(t.calls)} calls` : undefined}
            testId="cache-hit-rate"
          />
          <Figure
            label="Saved for customers"
            value={t ? <Money micros={t.savedMicros} /> : "…"}
            testId="cache-saved-total"
          />
          <Figure
            label="Hit revenue"
            value={t ? <Money micros={t.hitRevenueMicros} /> : "…"}
            testId="cache-hit-revenue"
          />
        </div>
        {isLoading ? (
          <div className="h-56 animate-pulse rounded-md bg-muted" />
        ) : data && data.totals.hits === 0 ? (
          <ChartEmpty
            height={224}
            message="No calls answered from the response cache in this range: owners turn the cache on in their account's or organization's settings."
          />
        ) : (
          <CacheChart days={data?.daily ?? []} />
        )}
        <div className="grid min-w-0 gap-4 2xl:grid-cols-2">
          <div className="min-w-0">
            <h3 className="mb-2 text-sm font-semibold">By model</h3>
            <Table data-testid="cache-by-model">
              <TableHeader>
                <TableRow>
                  <TableHead>Model</TableHead>
                  <TableHead className="text-right">Calls</TableHead>
                  <TableHead className="text-right">Hits</TableHead>
                  <TableHead className="text-right">Hit rate</TableHead>
                  <TableHead className="text-right">Saved</TableHead>
                  <TableHead className="text-right">Hit revenue</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {data && data.byModel.length === 0 ? (
                  <TableMessage colSpan={6}>No calls match.</TableMessage>
                ) : null}
                {data?.byModel.map((m) => (
                  <TableRow key={m.model} data-testid="cache-model-row">
                    <TableCell>
                      <TableTruncate text={m.model} />
                    </TableCell>
                    <TableCell className="text-right tabular-nums">{int(m.calls)}</TableCell>
                    <TableCell className="text-right tabular-nums">{int(m.hits)}</TableCell>
                    <TableCell className="text-right tabular-nums">{pct(m.hits, m.calls)}</TableCell>
                    <TableCell className="text-right tabular-nums">
                      <Money micros={m.savedMicros} />
                    </TableCell>
                    <TableCell className="text-right tabular-nums">
                      <Money micros={m.hitRevenueMicros} />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </div>
          <div className="min-w-0">
            <h3 className="mb-2 text-sm font-semibold">By account</h3>
            <Table data-testid="cache-by-account">
              <TableHeader>
                <TableRow>
                  <TableHead>Account</TableHead>
                  <TableHead className="text-right">Hits</TableHead>
                  <TableHead className="text-right">Hit rate</TableHead>
                  <TableHead className="text-right">Saved</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {data && data.byAccount.length === 0 ? (
                  <TableMessage colSpan={4}>No account had a cache hit in this range.</TableMessage>
                ) : null}
                {data?.byAccount.map((a) => (
                  <TableRow key={a.accountId} data-testid="cache-account-row">
                    <TableCell>
                      <TableTruncate text={a.label} />
                    </TableCell>
                    <TableCell className="text-right tabular-nums">{int(a.hits)}</TableCell>
                    <TableCell className="text-right tabular-nums">{pct(a.hits, a.calls)}</TableCell>
                    <TableCell className="text-right tabular-nums">
                      <Money micros={a.savedMicros} />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </div>
        </div>
      </CardContent>
    </Card>
  );
}
