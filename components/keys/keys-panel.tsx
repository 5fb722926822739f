"use client";

import { useQuery } from "@tanstack/react-query";
import { Search } from "lucide-react";
import { useState } from "react";
import { Money } from "@/components/billing/money";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Confirm } from "@/components/ui/confirm";
import { Input } from "@/components/ui/input";
import { Pager, pageCount } from "@/components/ui/pager";
import { toast } from "@/components/ui/sonner";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableMessage,
  TableRow,
} from "@/components/ui/table";
import { api } from "@/lib/ui/api";
import { CreateKeyDialog } from "./create-key-dialog";
import { type KeyRow, useKeys, useRevokeKey, useRotateKey } from "./queries";
import { SecretDialog } from "./secret-dialog";

function ago(iso: string | null): string {
  if (!iso) return "never";
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

function statusOf(key: KeyRow): { label: string; variant: "success" | "destructive" | "warning" } {
  if (key.status === "revoked") return { label: "revoked", variant: "destructive" };
  if (key.expiresAt && new Date(key.expiresAt).getTime() < Date.now())
    return { label: "expired", variant: "warning" };
  return { label: "active", variant: "success" };
}

export function KeysPanel({ admin, gatewayUrl }: { admin: boolean; gatewayUrl: string }) {
  const [filter, setFilter] = useState({ q: "", status: "", page: 1 });
  const [secret, setSecret] = useState<string | null>(null);
  const [pending, setPending] = useState<{ key: KeyRow; action: "revoke" | "rotate" } | null>(null);
  const keys = useKeys(filter, admin ? "/api/v1" : "/api/v1/me");
  const revoke = useRevokeKey();
  const rotate = useRotateKey();
  const users = useQuery({
    queryKey: ["users", "all-for-keys"],
    queryFn: () =>
      api<{ items: { id: string; email: string }[] }>("/api/v1/users?pageSize=100&status=active"),
    enabled: admin,
  });
  const pages = pageCount(keys.data?.total, keys.data?.pageSize ?? 20);

  const act = () => {
    if (!pending) return;
    const { key, action } = pending;
    if (action === "revoke") {
      revoke.mutate(key.id, {
        onSuccess: () => toast.success(`Revoked ${key.prefix}…; the gateway refuses it within seconds.`),
        onError: (e) => toast.error(e.message),
        onSettled: () => setPending(null),
      });
    } else {
      rotate.mutate(key.id, {
        onSuccess: (res) => {
          if (res.secret) setSecret(res.secret);
          toast.success(`Rotated ${key.prefix}…: the old secret no longer works.`);
        },
        onError: (e) => toast.error(e.message),
        onSettled: () => setPending(null),
      });
    }
  };

  return (
    <Card>
      <CardContent className="grid gap-4">
        <div className="flex flex-wrap items-center gap-2">
          <div className="relative min-w-64 flex-1">
            <Search className="absolute top-2.5 left-2.5 size-4 text-muted-foreground" />
            <Input
              aria-label="Search keys"
              placeholder={admin ? "Search by name, prefix or owner" : "Search by name or prefix"}
              className="pl-8"
              value={filter.q}
              onChange={(e) => setFilter({ ...filter, q: e.target.value, page: 1 })}
            />
          </div>
          <select
            aria-label="Filter by status"
            className="h-9 rounded-md border border-input bg-transparent px-3 text-sm"
            value={filter.status}
            onChange={(e) => setFilter({ ...filter, status: e.target.value, page: 1 })}
          >
            <option value="">All keys</option>
            <option value="active">Active</option>
            <option value="revoked">Revoked</option>
          </select>
          <CreateKeyDialog onCreated={setSecret} forUser={admin ? users.data?.items : undefined} />
        </div>
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>{admin ? "Name · owner" : "Name"}</TableHead>
              <TableHead>Key</TableHead>
              <TableHead>Models</TableHead>
              <TableHead>Limits</TableHead>
              <TableHead>Status</TableHead>
              <TableHead>Last used</TableHead>
              <TableHead className="text-right">Actions</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {keys.data?.items.length === 0 ? (
              <TableMessage colSpan={7}>No keys yet. Create one to call the gateway.</TableMessage>
            ) : null}
            {keys.data?.items.map((key) => {
              const status = statusOf(key);
              return (
                <TableRow key={key.id} data-testid={`key-row-${key.name}`}>
                  <TableCell className="max-w-56">
                    <span className="block truncate font-medium">{key.name}</span>
                    {key.purpose === "playground" ? (
                      <span
                        className="block text-xs text-muted-foreground"
                        title="Managed by Tollgate for the playground: its secret is never shown. Revoke it and the playground makes a new one."
                      >
                        Playground · managed
                      </span>
                    ) : null}
                    {admin ? (
                      <span className="block truncate text-xs text-muted-foreground" title={key.ownerEmail}>
                        {key.ownerEmail}
                      </span>
                    ) : null}
                  </TableCell>
                  <TableCell className="font-mono text-xs">{key.prefix}…</TableCell>
                  <TableCell className="max-w-48 truncate text-xs">
                    {key.allowedModels.length ? (
                      key.allowedModels.join(", ")
                    ) : (
                      <span className="text-muted-foreground">all</span>
                    )}
                  </TableCell>
                  <TableCell className="text-xs text-muted-foreground">
                    {key.rpmLimit ? `${key.rpmLimit} rpm` : "—"} ·{" "}
                    {key.tpmLimit ? `${key.tpmLimit} tpm` : "—"}
                  </TableCell>
                  <TableCell>
                    <Badge variant={status.variant}>{status.label}</Badge>
                    <span
                      data-testid="key-spend"
                      className="mt-1 block text-xs text-muted-foreground tabular-nums"
                    >
                      charged <Money micros={key.todayChargedMicros} /> today ·{" "}
                      <Money micros={key.monthChargedMicros} /> this month (UTC)
                    </span>
                    {key.reservedMicros > 0 ? (
                      <span
                        data-testid="key-leased"
                        className="mt-1 block text-xs text-muted-foreground tabular-nums"
                        title="Set aside for calls in progress and gateway leases, not spent: what calls do not use comes back"
                      >
                        <Money micros={key.reservedMicros} /> reserved
                        {key.leasedMicros > 0 ? " (gateway lease)" : ""}
                      </span>
                    ) : null}
                  </TableCell>
                  <TableCell className="text-muted-foreground">
                    <span className="block">{ago(key.lastUsedAt)}</span>
                    <span className="block font-mono text-xs" title="Created (UTC)">
                      since {key.createdAt.slice(0, 10)}
                    </span>
                  </TableCell>
                  <TableCell className="space-x-2 text-right">
                    {key.status === "active" ? (
                      <>
                        {key.purpose === "playground" ? null : (
                          <Button
                            size="sm"
                            variant="outline"
                            onClick={() => setPending({ key, action: "rotate" })}
                          >
                            Rotate
                          </Button>
                        )}
                        <Button
                          size="sm"
                          variant="outline"
                          onClick={() => setPending({ key, action: "revoke" })}
                        >
                          Revoke
                        </Button>
                      </>
                    ) : null}
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
        <div className="flex items-center justify-between text-sm text-muted-foreground">
          <span>{keys.data ? `${keys.data.total} key${keys.data.total === 1 ? "" : "s"}` : ""}</span>
          <Pager page={filter.page} pages={pages} onPage={(page) => setFilter({ ...filter, page })} />
        </div>
      </CardContent>
      <Confirm
        open={pending !== null}
        title={pending?.action === "revoke" ? "Revoke this key?" : "Rotate this key?"}
        description={
          pending?.action === "revoke"
            ? `Apps using ${pending?.key.prefix}… stop working within seconds. This cannot be undone.`
            : `A new secret replaces ${pending?.key.prefix}…, which stops working within seconds.`
        }
        confirmLabel={pending?.action === "revoke" ? "Revoke key" : "Rotate key"}
        destructive={pending?.action === "revoke"}
        pending={revoke.isPending || rotate.isPending}
        onConfirm={act}
        onCancel={() => setPending(null)}
      />
      <SecretDialog secret={secret} gatewayUrl={gatewayUrl} onClose={() => setSecret(null)} />
    </Card>
  );
}
