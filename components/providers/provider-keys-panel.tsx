"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { byokFee } from "@/components/plans/fee";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Confirm } from "@/components/ui/confirm";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
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
  TableTimeCell,
  TableTruncate,
} from "@/components/ui/table";
import type { Json } from "@/lib/json";
import type { CredentialList } from "@/lib/providers/credentials";
import { NEEDS_BASE, PROVIDER_IDS, PROVIDERS, type Provider } from "@/lib/providers/schemas";
import { api, fieldErrors } from "@/lib/ui/api";

type ListJson = Json<CredentialList>;
type Row = ListJson["credentials"][number];

/** Provider keys (BYOK) of a person (org null), an organization, or one key (keyId): masked, tested, deleted. */
/** How the plan's BYOK fee is counted (clause 62): the share rounded up, the cap by the price with a per-call part. */
const feeTerms = (bps: number, requestMicros: number) =>
  [
    bps > 0 ? "the percentage of the price-book price, rounded up per call" : null,
    requestMicros > 0 ? "never more than the call's price-book price" : null,
    bps === 0 && requestMicros === 0 ? "calls are free of platform fees" : null,
  ]
    .filter(Boolean)
    .join("; ");

export function ProviderKeysPanel({
  org,
  keyId,
  canChange,
}: {
  org: string | null;
  keyId?: string;
  canChange: boolean;
}) {
  const qc = useQueryClient();
  const query = org ? `?org=${encodeURIComponent(org)}` : keyId ? `?keyId=${keyId}` : "";
  const list = useQuery({
    queryKey: ["provider-keys", org, keyId ?? null],
    queryFn: () => api<ListJson>(`/api/v1/provider-credentials${query}`),
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ["provider-keys"] });
  const fallback = useMutation({
    mutationFn: (allow: boolean) =>
      api(`/api/v1/provider-credentials/fallback${query}`, {
        method: "PUT",
        body: { allowPlatformFallback: allow },
      }),
    onSuccess: refresh,
    onError: (e) => toast.error((e as Error).message),
  });
  const rows = list.data?.credentials ?? [];
  // Inside a key's edit dialog: fewer columns, so the row's actions stay in view.
  const compact = Boolean(keyId);
  const allow = list.data?.allowPlatformFallback ?? null;
  return (
    <div className="grid gap-6" data-testid="provider-keys">
      <Card>
        <CardHeader>
          <CardTitle>
            {keyId ? "This key's provider keys" : org ? "Provider keys" : "Your provider keys"}
          </CardTitle>
          <CardDescription>
            Calls to a provider you hold a key for are sent with it: the provider bills you, and Tollgate
            charges its platform fee (a share of the price-book price, shown on your plan). Keys are encrypted
            at rest and never shown again: only their last four characters.
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          {list.data ? (
            <p className="text-sm" data-testid="byok-fee">
              Platform fee on calls served with these keys:{" "}
              <strong>{byokFee(list.data.byokFeeBps, list.data.byokFeeRequestMicros)}</strong> (
              {feeTerms(list.data.byokFeeBps, list.data.byokFeeRequestMicros)}); the provider bills the tokens
              to you.
            </p>
          ) : null}
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Provider</TableHead>
                {compact ? null : <TableHead>Label</TableHead>}
                <TableHead>Key</TableHead>
                <TableHead>Status</TableHead>
                {compact ? null : <TableHead>Last checked</TableHead>}
                <TableHead />
              </TableRow>
            </TableHeader>
            <TableBody>
              {list.isLoading ? <TableMessage colSpan={compact ? 4 : 6}>Loading…</TableMessage> : null}
              {list.data && !rows.length ? (
                <TableMessage colSpan={compact ? 4 : 6}>
                  No provider keys: calls are served with Tollgate&apos;s own, billed at the price book.
                </TableMessage>
              ) : null}
              {rows.map((row) => (
                <CredentialRow
                  key={row.id}
                  row={row}
                  canChange={canChange}
                  compact={compact}
                  onChanged={refresh}
                />
              ))}
            </TableBody>
          </Table>
          {keyId ? null : (
            <div className="flex items-start justify-between gap-4 rounded-md border p-3">
              <div className="grid gap-1">
                <Label htmlFor="byok-fallback">
                  Use Tollgate&apos;s keys when yours is missing or refused
                </Label>
                <p className="text-xs text-muted-foreground" data-testid="byok-fallback-state">
                  {allow === null
                    ? "You use Tollgate's keys today. Once you store a key, calls to a provider without one are refused unless this is on."
                    : allow
                      ? "On: such calls are served with Tollgate's keys and billed at the price book."
                      : "Off: such calls are refused (403) and nothing is charged."}
                </p>
              </div>
              <Switch
                id="byok-fallback"
                checked={allow === true}
                disabled={!canChange || fallback.isPending || allow === null}
                onCheckedChange={(v) => fallback.mutate(v)}
              />
            </div>
          )}
        </CardContent>
      </Card>
      {canChange ? <AddCredential query={query} onCreated={refresh} /> : null}
    </div>
  );
}

function CredentialRow({
  row,
  canChange,
  compact,
  onChanged,
}: {
  row: Row;
  canChange: boolean;
  compact: boolean;
  onChanged: () => void;
}) {
  const [confirm, setConfirm] = useState(false);
  const test = useMutation({
    mutationFn: () =>
      api<{ ok: boolean; message: string }>(`/api/v1/provider-credentials/${row.id}/test`, { body: {} }),
    onSuccess: (res) => {
      (res.ok ? toast.success : toast.error)(res.message);
      onChanged();
    },
    onError: (e) => toast.error((e as Error).message),
  });
  const remove = useMutation({
    mutationFn: () => api(`/api/v1/provider-credentials/${row.id}`, { method: "DELETE" }),
    onSuccess: () => {
      setConfirm(false);
      onChanged();
    },
  });
  return (
    <TableRow data-testid={`provider-key-${row.provider}`}>
      <TableCell>
        <div className="grid gap-0.5">
          <span className="font-medium">
            {(PROVIDERS[row.provider as Provider] ?? row.provider).replace(/ \(.*\)$/, "")}
          </span>
          {row.apiBase ? (
            <TableTruncate text={row.apiBase} className="max-w-56 font-mono text-xs text-muted-foreground" />
          ) : null}
        </div>
      </TableCell>
      {compact ? null : (
        <TableCell>{row.label || <span className="text-muted-foreground">—</span>}</TableCell>
      )}
      <TableCell className="font-mono text-xs">{row.masked}</TableCell>
      <TableCell>
        <div className="grid gap-1">
          <Badge variant={row.status === "active" ? "success" : "destructive"}>{row.status}</Badge>
          {row.lastError ? <span className="text-xs text-muted-foreground">{row.lastError}</span> : null}
        </div>
      </TableCell>
      {compact ? null : row.lastCheckedAt ? (
        <TableTimeCell iso={row.lastCheckedAt} />
      ) : (
        <TableCell className="text-xs text-muted-foreground">never</TableCell>
      )}
      <TableCell className="text-right whitespace-nowrap">
        {canChange ? (
          <>
            <Button size="sm" variant="outline" onClick={() => test.mutate()} disabled={test.isPending}>
              {test.isPending ? "Testing…" : "Test"}
            </Button>{" "}
            <Button size="sm" variant="ghost" onClick={() => setConfirm(true)}>
              Delete
            </Button>
            <Confirm
              open={confirm}
              title="Delete this provider key?"
              description="Calls that used it are refused or served with Tollgate's keys, as your fallback setting says."
              confirmLabel="Delete key"
              destructive
              pending={remove.isPending}
              onConfirm={() => remove.mutate()}
              onCancel={() => setConfirm(false)}
            />
          </>
        ) : null}
      </TableCell>
    </TableRow>
  );
}

function AddCredential({ query, onCreated }: { query: string; onCreated: () => void }) {
  const [provider, setProvider] = useState<Provider>("openai");
  const [label, setLabel] = useState("");
  const [secret, setSecret] = useState("");
  const [apiBase, setApiBase] = useState("");
  const [apiVersion, setApiVersion] = useState("");
  const needsBase = NEEDS_BASE.includes(provider);
  const create = useMutation({
    mutationFn: () =>
      api(`/api/v1/provider-credentials${query}`, {
        body: {
          provider,
          label,
          secret,
          apiBase: needsBase ? apiBase : null,
          apiVersion: provider === "azure" && apiVersion ? apiVersion : null,
        },
      }),
    onSuccess: () => {
      setSecret("");
      setLabel("");
      toast.success("Provider key stored");
      onCreated();
    },
  });
  const errors = fieldErrors(create.error);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Add a provider key</CardTitle>
        <CardDescription>One key per provider; delete the old one to replace it.</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="grid gap-4 sm:grid-cols-2"
          onSubmit={(ev) => {
            ev.preventDefault();
            create.mutate();
          }}
        >
          <div className="grid gap-1.5">
            <Label htmlFor="byok-provider">Provider</Label>
            <select
              id="byok-provider"
              className="h-9 w-full min-w-0 rounded-md border border-input bg-transparent px-3 text-sm"
              value={provider}
              onChange={(e) => setProvider(e.target.value as Provider)}
            >
              {PROVIDER_IDS.map((p) => (
                <option key={p} value={p}>
                  {PROVIDERS[p]}
                </option>
              ))}
            </select>
          </div>
          <div className="grid gap-1.5">
            <Label htmlFor="byok-label">Label (optional)</Label>
            <Input id="byok-label" value={label} onChange={(e) => setLabel(e.target.value)} />
          </div>
          <div className="grid gap-1.5 sm:col-span-2">
            <Label htmlFor="byok-secret">API key</Label>
            <Input
              id="byok-secret"
              type="password"
              autoComplete="off"
              value={secret}
              onChange={(e) => setSecret(e.target.value)}
              required
            />
            {errors.secret ? <p className="text-xs text-destructive">{errors.secret}</p> : null}
          </div>
          {needsBase ? (
            <div className="grid gap-1.5">
              <Label htmlFor="byok-base">Base URL</Label>
              <Input
                id="byok-base"
                value={apiBase}
                onChange={(e) => setApiBase(e.target.value)}
                placeholder={
                  provider === "azure"
                    ? "https://my-resource.openai.azure.com"
                    : "https://vllm.example.com/v1"
                }
              />
              {errors.apiBase ? <p className="text-xs text-destructive">{errors.apiBase}</p> : null}
            </div>
          ) : null}
          {provider === "azure" ? (
            <div className="grid gap-1.5">
              <Label htmlFor="byok-version">API version</Label>
              <Input
                id="byok-version"
                value={apiVersion}
                onChange={(e) => setApiVersion(e.target.value)}
                placeholder="2024-10-21"
              />
            </div>
          ) : null}
          {create.error && !Object.keys(errors).length ? (
            <p className="text-sm text-destructive sm:col-span-2">{(create.error as Error).message}</p>
          ) : null}
          <div className="sm:col-span-2">
            <Button type="submit" disabled={create.isPending} data-testid="store-provider-key">
              {create.isPending ? "Storing…" : "Store key"}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
