"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { CatalogRow } from "@/components/models/model-dialog";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import Link from "@/components/ui/link";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { hasOutputTokens } from "@/lib/models/kinds";
import { api } from "@/lib/ui/api";
import { usePrices } from "./queries";
import { priceLines } from "./units";

/**
 * What each model a developer may call costs, in the units it is billed by (sell prices in force; no provider
 * cost reaches this page's API for a developer). The catalog is the caller's: enabled models their plan allows.
 */
export function ModelPrices() {
  const models = useQuery({
    queryKey: ["models"],
    queryFn: () => api<{ items: CatalogRow[] }>("/api/v1/models"),
  });
  const prices = usePrices();
  const [q, setQ] = useState("");
  const rows = (models.data?.items ?? [])
    .filter((m) => m.enabled)
    .filter((m) => `${m.publicName} ${m.description}`.toLowerCase().includes(q.trim().toLowerCase()))
    .map((m) => ({ model: m, price: prices.data?.items.find((v) => v.model === m.publicName && v.current) }));
  return (
    <Card>
      <CardHeader>
        <CardTitle>Models you can call</CardTitle>
        <CardDescription>
          USD. A call is charged once, at the prices in force when it starts, for what the provider reports it
          used (tokens, images, seconds of audio, characters), rounded up to the micro-dollar; a failed call
          is free. Use the model name as <code>model</code> with your key.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <Input
          aria-label="Find a model"
          placeholder="Find a model…"
          className="max-w-xs"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>Model</TableHead>
              <TableHead className="text-right">Context · max output</TableHead>
              <TableHead>Price</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {rows.map(({ model, price }) => (
              <TableRow key={model.id} data-testid={`model-price-${model.publicName}`}>
                <TableCell className="align-top">
                  <Link
                    href={`/account/models/${model.id}`}
                    className="font-medium font-mono text-sm underline-offset-4 hover:underline"
                  >
                    {model.publicName}
                  </Link>
                  <div className="max-w-md whitespace-normal text-muted-foreground text-xs">
                    {model.description}
                  </div>
                </TableCell>
                <TableCell className="text-right align-top tabular-nums">
                  {model.contextWindow.toLocaleString("en-US")}
                  {/* A max output means nothing for a model that does not answer in tokens (embeddings, images, audio). */}
                  {hasOutputTokens(model.kinds)
                    ? ` · ${model.maxOutputTokens.toLocaleString("en-US")}`
                    : " · —"}
                </TableCell>
                <TableCell className="align-top text-sm">
                  {price ? (
                    priceLines(price).map((line) => <div key={line}>{line}</div>)
                  ) : (
                    <Badge variant="secondary">not priced yet: calls are refused</Badge>
                  )}
                </TableCell>
              </TableRow>
            ))}
            {models.data && !rows.length ? (
              <TableRow>
                <TableCell colSpan={3} className="text-muted-foreground">
                  {q ? "No model matches." : "No model is available to you yet."}
                </TableCell>
              </TableRow>
            ) : null}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}
