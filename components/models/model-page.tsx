"use client";

import { useQuery } from "@tanstack/react-query";
import { billedUnits, bpsPercent } from "@/components/billing/format";
import { Money } from "@/components/billing/money";
import { usePrices } from "@/components/billing/queries";
import { priceLines } from "@/components/billing/units";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { CodeTabs } from "@/components/ui/code-tabs";
import { CopyButton } from "@/components/ui/copy-button";
import Link from "@/components/ui/link";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { UtcTime } from "@/components/ui/utc-time";
import type { RequestRow } from "@/lib/analytics/requests";
import type { UsageTotals } from "@/lib/analytics/usage";
import type { Json } from "@/lib/json";
import { hasOutputTokens, KIND_LABELS, KIND_ROUTES } from "@/lib/models/kinds";
import { modelSnippets } from "@/lib/models/snippets";
import { api } from "@/lib/ui/api";
import type { CatalogRow } from "./model-dialog";

const fmt = new Intl.NumberFormat("en-US");
const DAY_MS = 86_400_000;

/** The first UTC day of the last 30 (today included): what "your use" counts from. */
const since = () => new Date(Date.now() - 29 * DAY_MS).toISOString().slice(0, 10);

/**
 * A model's page for the people who call it: what it is, what it costs per unit (sell prices in force; provider
 * cost never reaches a developer's API), its limits and endpoints, a quick start, and the reader's own recent use of
 * it (their calls only, whatever their role: the /me reads).
 */
export function ModelPage({ model, gatewayUrl }: { model: CatalogRow; gatewayUrl: string }) {
  const prices = usePrices();
  const price = prices.data?.items.find((v) => v.modelId === model.id && v.current);
  const from = since();
  const filter = `model=${encodeURIComponent(model.publicName)}&from=${from}`;
  const calls = useQuery({
    queryKey: ["me", "requests", model.publicName, from],
    queryFn: () => api<{ items: Json<RequestRow>[] }>(`/api/v1/me/requests?${filter}&limit=10`),
  });
  const usage = useQuery({
    queryKey: ["me", "usage", model.publicName, from],
    queryFn: () => api<{ totals: Json<UsageTotals> }>(`/api/v1/me/analytics/usage?${filter}&by=model`),
  });
  const snippets = modelSnippets(gatewayUrl, model.publicName, model.kinds);
  const outputMeans = hasOutputTokens(model.kinds);
  const totals = usage.data?.totals;

  return (
    <div className="grid min-w-0 gap-6 xl:grid-cols-2">
      <Card className="min-w-0">
        <CardHeader>
          <CardTitle className="flex flex-wrap items-center gap-2">
            <span className="break-all font-mono">{model.publicName}</span>
            <CopyButton text={model.publicName} label="Copy the model name" />
          </CardTitle>
          <CardDescription>{model.description || "No description yet."}</CardDescription>
        </CardHeader>
        <CardContent>
          <dl className="grid grid-cols-1 gap-y-1 text-sm sm:grid-cols-[9rem_minmax(0,1fr)] sm:gap-y-2 [&>dd]:mb-2 sm:[&>dd]:mb-0">
            <dt className="text-muted-foreground">Context window</dt>
            <dd className="tabular-nums" data-testid="model-context">
              {fmt.format(model.contextWindow)} tokens
            </dd>
            {outputMeans ? (
              <>
                <dt className="text-muted-foreground">Max output</dt>
                <dd className="tabular-nums" data-testid="model-max-output">
                  {fmt.format(model.maxOutputTokens)} tokens
                </dd>
              </>
            ) : null}
            <dt className="text-muted-foreground">Serves</dt>
            <dd data-testid="model-endpoints">
              {model.kinds.length ? (
                <ul className="grid gap-1">
                  {model.kinds.map((k) => (
                    <li key={k} className="flex flex-wrap items-center gap-x-2 gap-y-0.5">
                      <Badge variant="outline">{KIND_LABELS[k] ?? k}</Badge>
                      <code className="text-xs">{KIND_ROUTES.get(k)}</code>
                    </li>
                  ))}
                </ul>
              ) : (
                <span className="text-muted-foreground">
                  Nothing yet: it has no price, so calls are refused.
                </span>
              )}
            </dd>
          </dl>
        </CardContent>
      </Card>

      <Card className="min-w-0">
        <CardHeader>
          <CardTitle>Price</CardTitle>
          <CardDescription>
            USD, in force now. A call is charged once, for what the provider reports it used, rounded up to
            the micro-dollar; a failed call is free.
          </CardDescription>
        </CardHeader>
        <CardContent className="text-sm" data-testid="model-price">
          {prices.isPending ? (
            <span className="text-muted-foreground">Loading…</span>
          ) : price ? (
            <ul className="grid gap-1">
              {priceLines(price).map((line) => (
                <li key={line}>{line}</li>
              ))}
              <li className="text-muted-foreground" data-testid="model-cache-hit-price">
                Answers from the response cache: {bpsPercent(price.cacheHitBps)} of the price
              </li>
            </ul>
          ) : (
            <Badge variant="secondary">not priced yet: calls are refused</Badge>
          )}
        </CardContent>
      </Card>

      <Card className="min-w-0 xl:col-span-2">
        <CardHeader>
          <CardTitle>Quick start</CardTitle>
          <CardDescription>
            {KIND_LABELS[snippets.kind] ?? snippets.kind} through the gateway with the <code>openai</code>{" "}
            clients. Export your key first: <code>export TOLLGATE_API_KEY=tg_…</code> (
            <Link className="underline" href="/account/keys">
              your API keys
            </Link>
            ).
          </CardDescription>
        </CardHeader>
        <CardContent>
          <CodeTabs snippets={snippets} testIdPrefix="snippet" />
        </CardContent>
      </Card>

      <Card className="min-w-0 xl:col-span-2">
        <CardHeader>
          <CardTitle>Your use, last 30 days</CardTitle>
          <CardDescription>
            Calls made with your keys since {from} (UTC).{" "}
            <Link className="underline" href={`/account/requests?${filter}`}>
              All your calls of this model
            </Link>
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          <dl className="grid grid-cols-2 gap-4 text-sm sm:grid-cols-4" data-testid="model-usage-totals">
            <div>
              <dt className="text-muted-foreground text-xs">Calls</dt>
              <dd className="font-semibold text-lg tabular-nums" data-testid="model-usage-calls">
                {totals ? fmt.format(totals.calls) : "—"}
              </dd>
            </div>
            <div>
              <dt className="text-muted-foreground text-xs">Failed</dt>
              <dd className="font-semibold text-lg tabular-nums">
                {totals ? fmt.format(totals.failures) : "—"}
              </dd>
            </div>
            <div>
              <dt className="text-muted-foreground text-xs">Tokens in → out</dt>
              <dd className="font-semibold text-lg tabular-nums">
                {totals
                  ? `${fmt.format(Number(totals.tokensIn))} → ${fmt.format(Number(totals.tokensOut))}`
                  : "—"}
              </dd>
            </div>
            <div>
              <dt className="text-muted-foreground text-xs">Charged</dt>
              <dd className="font-semibold text-lg tabular-nums">
                <Money micros={totals?.revenueMicros} testId="model-usage-charged" />
              </dd>
            </div>
          </dl>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>When</TableHead>
                <TableHead className="hidden sm:table-cell">Key</TableHead>
                <TableHead className="hidden sm:table-cell">Outcome</TableHead>
                <TableHead className="hidden sm:table-cell">Used</TableHead>
                <TableHead className="text-right">Charged</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {(calls.data?.items ?? []).map((r) => (
                <TableRow key={r.id} data-testid="model-call">
                  <TableCell>
                    <UtcTime at={r.startedAt} />
                    <span className="block text-muted-foreground text-xs sm:hidden">{r.status}</span>
                  </TableCell>
                  <TableCell className="hidden max-w-40 truncate sm:table-cell" title={r.keyName}>
                    {r.keyName}
                  </TableCell>
                  <TableCell className="hidden sm:table-cell">
                    <Badge
                      variant={
                        r.status === "success" ? "success" : r.status === "cut" ? "warning" : "secondary"
                      }
                    >
                      {r.status}
                    </Badge>
                  </TableCell>
                  <TableCell className="hidden text-xs sm:table-cell">{billedUnits(r)}</TableCell>
                  <TableCell className="text-right tabular-nums">
                    <Money micros={r.revenueMicros} />
                  </TableCell>
                </TableRow>
              ))}
              {calls.data && !calls.data.items.length ? (
                <TableRow>
                  <TableCell colSpan={5} className="text-muted-foreground">
                    No calls to this model in the last 30 days. Try the quick start above.
                  </TableCell>
                </TableRow>
              ) : null}
            </TableBody>
          </Table>
        </CardContent>
      </Card>
    </div>
  );
}
