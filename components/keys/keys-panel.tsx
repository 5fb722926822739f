"use client";

import { useQuery } from "@tanstack/react-query";
import { ChevronDown, ChevronRight, Pencil, Search, X } from "lucide-react";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { Fragment, useState } from "react";
import { Money } from "@/components/billing/money";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Confirm } from "@/components/ui/confirm";
import { CopyButton } from "@/components/ui/copy-button";
import { Input } from "@/components/ui/input";
import Link from "@/components/ui/link";
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
import { UtcTime } from "@/components/ui/utc-time";
import { type KeyAction, mayOnOrgKey, type OrgKeyViewer } from "@/lib/keys/permits";
import { api } from "@/lib/ui/api";
import { formatUtcDay } from "@/lib/utils";
import { CreateKeyDialog } from "./create-key-dialog";
import { EditKeyDialog } from "./edit-key-dialog";
import { type KeyRow, useKeys, useRevokeKey, useRotateKey } from "./queries";
import { SecretDialog } from "./secret-dialog";

function ago(iso: string | null): string {
  if (!iso) return "never";
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return formatUtcDay(iso);
}

function statusOf(key: KeyRow): { label: string; variant: "success" | "destructive" | "warning" } {
  if (key.status === "revoked") return { label: "revoked", variant: "destructive" };
  if (key.expiresAt && new Date(key.expiresAt).getTime() < Date.now())
    return { label: "expired", variant: "warning" };
  return { label: "active", variant: "success" };
}

/** How much of a budget the key's counter (charges plus reservations in the window) has used, as a bar. */
function BudgetMeter({
  used,
  budget,
  label,
  testId,
}: {
  used: number;
  budget: number;
  label: string;
  testId: string;
}) {
  const percent = budget <= 0 ? 100 : Math.min(100, Math.round((used / budget) * 1000) / 10);
  return (
    <div
      aria-hidden
      data-testid={testId}
      data-percent={percent}
      title={`${label}: ${percent}% (charges plus reservations)`}
      className="mt-0.5 mb-1 h-1 w-full max-w-40 overflow-hidden rounded bg-muted"
    >
      <div
        className={
          percent >= 100 ? "h-full bg-destructive" : percent >= 80 ? "h-full bg-warning" : "h-full bg-primary"
        }
        style={{ width: `${percent}%` }}
      />
    </div>
  );
}

function Detail({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid min-w-0 gap-0.5">
      <dt className="text-xs text-muted-foreground">{label}</dt>
      <dd className="min-w-0 text-sm [overflow-wrap:anywhere]">{children}</dd>
    </div>
  );
}

/** The keys table's narrow filters from the page's address: one user's keys (?userId=) or one key (?keyId=). */
function useUrlKeyFilter() {
  const search = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const uuid = (v: string | null) =>
    v && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v) ? v : undefined;
  return {
    userId: uuid(search.get("userId")),
    keyId: uuid(search.get("keyId")),
    clear: () => router.replace(pathname, { scroll: false }),
  };
}

export function KeysPanel({
  admin,
  org,
}: {
  admin: boolean;
  /**
   * An organization's keys (its slug and name): `everyone` lists them through the organization (every member's for
   * its owners and admins, with who made each), otherwise the person's own keys of it ("My API keys" with ?org=).
   */
  org?: { slug: string; name: string; everyone: boolean; viewer?: OrgKeyViewer };
}) {
  const url = useUrlKeyFilter();
  const [filter, setFilter] = useState({ q: "", status: "", page: 1 });
  const [secret, setSecret] = useState<string | null>(null);
  const [pending, setPending] = useState<{ key: KeyRow; action: "revoke" | "rotate" } | null>(null);
  const [editing, setEditing] = useState<KeyRow | null>(null);
  const [expanded, setExpanded] = useState<string | null>(null);
  const keys = useKeys(
    { ...filter, userId: admin ? url.userId : undefined, keyId: url.keyId },
    admin ? "/api/v1" : org?.everyone ? `/api/v1/orgs/${encodeURIComponent(org.slug)}` : "/api/v1/me",
    org && !org.everyone ? org.slug : undefined,
  );
  const showMaker = admin || Boolean(org?.everyone);
  const revoke = useRevokeKey();
  const rotate = useRotateKey();
  const users = useQuery({
    queryKey: ["users", "all-for-keys"],
    queryFn: () =>
      api<{ items: { id: string; email: string }[] }>("/api/v1/users?pageSize=100&status=active"),
    enabled: admin,
  });
  const pages = pageCount(keys.data?.total, keys.data?.pageSize ?? 20);
  const callsPath = admin ? "/admin/requests" : "/account/requests";
  const callsHref = (keyId: string) =>
    `${callsPath}?${org ? `org=${encodeURIComponent(org.slug)}&` : ""}keyId=${keyId}`;
  const narrowed = (admin && url.userId) || url.keyId;
  const ownerEmail = keys.data?.items.find((k) => k.userId === url.userId)?.ownerEmail;

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
          <div className="relative min-w-0 flex-1 basis-56">
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
          <CreateKeyDialog
            onCreated={setSecret}
            forUser={admin ? users.data?.items : undefined}
            org={org ? { slug: org.slug, name: org.name } : undefined}
          />
        </div>
        {narrowed ? (
          <div
            className="flex flex-wrap items-center gap-2 rounded-md border bg-muted/40 px-3 py-2 text-sm"
            data-testid="keys-narrowed"
          >
            <span>{url.keyId ? "Showing one key." : `Showing the keys of ${ownerEmail ?? "one user"}.`}</span>
            <Button variant="ghost" size="sm" onClick={url.clear}>
              <X /> Show all keys
            </Button>
          </div>
        ) : null}
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>{admin ? "Name · owner" : showMaker ? "Name · made by" : "Name"}</TableHead>
              <TableHead>Key · last used</TableHead>
              <TableHead>Spend · budget (UTC)</TableHead>
              <TableHead>Models · limits</TableHead>
              <TableHead className="text-right">Actions</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {keys.data?.items.length === 0 ? (
              <TableMessage colSpan={5}>
                {narrowed || filter.q || filter.status
                  ? "No keys match."
                  : org
                    ? `No keys of ${org.name} yet. Create one: its calls are paid by ${org.name}.`
                    : "No keys yet. Create one to call the gateway."}
              </TableMessage>
            ) : null}
            {keys.data?.items.map((key) => {
              const status = statusOf(key);
              const open = expanded === key.id;
              // What the organization lets the viewer do to this key (lib/keys/permits.ts): offer nothing else.
              const may = (action: KeyAction) =>
                !org?.viewer || !key.organizationId || mayOnOrgKey(org.viewer, key, action);
              const revocable = key.status === "active" && may("change");
              const editable = revocable && key.purpose !== "playground";
              const rotatable = editable && may("rotate");
              return (
                <Fragment key={key.id}>
                  <TableRow data-testid={`key-row-${key.name}`}>
                    <TableCell className="max-w-52">
                      <div className="flex min-w-0 items-center gap-2">
                        <span className="truncate font-medium" title={key.name}>
                          {key.name}
                        </span>
                        <Badge variant={status.variant}>{status.label}</Badge>
                      </div>
                      {key.purpose === "playground" ? (
                        <span
                          className="block text-xs text-muted-foreground"
                          title="Managed by Tollgate for the playground: its secret is never shown. Revoke it and the playground makes a new one."
                        >
                          Playground · managed
                        </span>
                      ) : null}
                      {admin ? (
                        <Link
                          href={`/admin/users?q=${encodeURIComponent(key.ownerEmail)}`}
                          className="block truncate text-xs text-muted-foreground hover:text-foreground hover:underline"
                          title={`${key.ownerEmail}: open in Users`}
                        >
                          {key.ownerEmail}
                        </Link>
                      ) : showMaker ? (
                        <span
                          className="block truncate text-xs text-muted-foreground"
                          title={`Made by ${key.ownerEmail}`}
                          data-testid="key-maker"
                        >
                          {key.ownerEmail}
                        </span>
                      ) : null}
                    </TableCell>
                    <TableCell className="whitespace-nowrap">
                      <span className="font-mono text-xs">{key.prefix}…</span>
                      <CopyButton text={key.prefix} label={`Copy prefix ${key.prefix}`} className="ml-1" />
                      <span className="block text-xs text-muted-foreground">
                        {key.lastUsedAt ? `used ${ago(key.lastUsedAt)}` : "never used"} ·{" "}
                        <Link
                          href={callsHref(key.id)}
                          className="underline-offset-2 hover:text-foreground hover:underline"
                        >
                          calls
                        </Link>
                      </span>
                    </TableCell>
                    <TableCell className="min-w-44 max-w-60 whitespace-normal">
                      <div data-testid="key-spend" className="text-xs tabular-nums">
                        <span className="block">
                          charged <Money micros={key.todayChargedMicros} /> today
                          {key.dailyBudgetMicros !== null ? (
                            <>
                              {" "}
                              · budget <Money micros={key.dailyBudgetMicros} testId="key-daily-budget" />
                            </>
                          ) : null}
                        </span>
                        {key.dailyBudgetMicros !== null ? (
                          <BudgetMeter
                            used={Number(key.todaySpentMicros)}
                            budget={Number(key.dailyBudgetMicros)}
                            label="Daily budget used"
                            testId="key-daily-meter"
                          />
                        ) : null}
                        <span className="block text-muted-foreground">
                          <Money micros={key.monthChargedMicros} /> this month
                          {key.monthlyBudgetMicros !== null ? (
                            <>
                              {" "}
                              · budget <Money micros={key.monthlyBudgetMicros} testId="key-monthly-budget" />
                            </>
                          ) : null}
                        </span>
                        {key.monthlyBudgetMicros !== null ? (
                          <BudgetMeter
                            used={Number(key.monthSpentMicros)}
                            budget={Number(key.monthlyBudgetMicros)}
                            label="Monthly budget used"
                            testId="key-monthly-meter"
                          />
                        ) : null}
                      </div>
                      {key.reservedMicros > 0 ? (
                        <span
                          data-testid="key-leased"
                          className="block text-xs text-muted-foreground tabular-nums"
                          title="Set aside for calls in progress and gateway leases, not spent: what calls do not use comes back"
                        >
                          <Money micros={key.reservedMicros} /> reserved
                          {key.leasedMicros > 0 ? " (gateway lease)" : ""}
                        </span>
                      ) : null}
                    </TableCell>
                    <TableCell className="max-w-44 text-xs">
                      <span
                        className="block truncate"
                        title={
                          key.allowedModels.length
                            ? key.allowedModels.join(", ")
                            : "every model the plan allows"
                        }
                      >
                        {key.allowedModels.length ? (
                          key.allowedModels.join(", ")
                        ) : (
                          <span className="text-muted-foreground">all models</span>
                        )}
                      </span>
                      <span
                        className="block whitespace-nowrap text-muted-foreground"
                        data-testid="key-limits"
                      >
                        {key.rpmLimit || key.tpmLimit
                          ? `${key.rpmLimit ? `${key.rpmLimit.toLocaleString("en-US")} rpm` : "—"} · ${key.tpmLimit ? `${key.tpmLimit.toLocaleString("en-US")} tpm` : "—"}`
                          : "plan's limits"}
                      </span>
                    </TableCell>
                    <TableCell className="whitespace-nowrap text-right">
                      <div className="inline-flex items-center gap-1">
                        {editable ? (
                          <Button size="sm" variant="outline" onClick={() => setEditing(key)}>
                            <Pencil /> Edit
                          </Button>
                        ) : null}
                        {revocable ? (
                          <Button
                            size="sm"
                            variant="outline"
                            onClick={() => setPending({ key, action: "revoke" })}
                          >
                            Revoke
                          </Button>
                        ) : null}
                        <Button
                          size="icon"
                          variant="ghost"
                          className="size-8"
                          aria-expanded={open}
                          aria-label={`Details of ${key.name}`}
                          onClick={() => setExpanded(open ? null : key.id)}
                        >
                          {open ? <ChevronDown /> : <ChevronRight />}
                        </Button>
                      </div>
                    </TableCell>
                  </TableRow>
                  {open ? (
                    <TableRow
                      data-testid={`key-details-${key.name}`}
                      className="bg-muted/30 hover:bg-muted/30"
                    >
                      <TableCell colSpan={5} className="whitespace-normal">
                        {/* w-0 min-w-full: the details take the row's width and never widen the table. */}
                        <dl className="grid w-0 min-w-full gap-3 py-1 sm:grid-cols-2 lg:grid-cols-4">
                          <Detail label="Key id">
                            <span className="font-mono text-xs">{key.id}</span>
                            <CopyButton text={key.id} label="Copy key id" className="ml-1" />
                          </Detail>
                          <Detail label="Created · expires (UTC)">
                            <UtcTime at={key.createdAt} /> ·{" "}
                            {key.expiresAt ? <UtcTime at={key.expiresAt} /> : "never expires"}
                          </Detail>
                          <Detail label="Last used (UTC)">
                            {key.lastUsedAt ? <UtcTime at={key.lastUsedAt} /> : "not yet"}
                          </Detail>
                          <Detail label="Links">
                            <Link href={callsHref(key.id)} className="underline-offset-2 hover:underline">
                              This key's calls
                            </Link>
                            {admin ? (
                              <>
                                {" · "}
                                <Link
                                  href={`/admin/keys?userId=${key.userId}`}
                                  className="underline-offset-2 hover:underline"
                                >
                                  Owner's keys
                                </Link>
                                {" · "}
                                <Link
                                  href={`/admin/requests?userId=${key.userId}`}
                                  className="underline-offset-2 hover:underline"
                                >
                                  Owner's calls
                                </Link>
                              </>
                            ) : null}
                          </Detail>
                          <Detail label="Models">
                            {key.allowedModels.length
                              ? key.allowedModels.join(", ")
                              : "every enabled model the plan allows"}
                          </Detail>
                          <Detail label="Limits">
                            {key.rpmLimit
                              ? `${key.rpmLimit.toLocaleString("en-US")} requests/min`
                              : "plan's RPM"}
                            {" · "}
                            {key.tpmLimit
                              ? `${key.tpmLimit.toLocaleString("en-US")} tokens/min`
                              : "plan's TPM"}
                          </Detail>
                          <Detail label="Today (UTC)">
                            charged <Money micros={key.todayChargedMicros} />; with reservations{" "}
                            <Money micros={key.todaySpentMicros} /> of{" "}
                            {key.dailyBudgetMicros !== null ? (
                              <Money micros={key.dailyBudgetMicros} />
                            ) : (
                              "no daily budget"
                            )}
                          </Detail>
                          <Detail label="This month (UTC)">
                            charged <Money micros={key.monthChargedMicros} />; with reservations{" "}
                            <Money micros={key.monthSpentMicros} /> of{" "}
                            {key.monthlyBudgetMicros !== null ? (
                              <Money micros={key.monthlyBudgetMicros} />
                            ) : (
                              "no monthly budget"
                            )}
                          </Detail>
                          {key.rotatedFrom ? (
                            <Detail label="Rotated from">
                              <span className="font-mono text-xs">{key.rotatedFrom}</span>
                            </Detail>
                          ) : null}
                          {rotatable ? (
                            <Detail label="Secret">
                              <Button
                                size="sm"
                                variant="outline"
                                onClick={() => setPending({ key, action: "rotate" })}
                              >
                                Rotate
                              </Button>
                            </Detail>
                          ) : null}
                        </dl>
                      </TableCell>
                    </TableRow>
                  ) : null}
                </Fragment>
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
      {editing ? <EditKeyDialog key={editing.id} editing={editing} onClose={() => setEditing(null)} /> : null}
      <SecretDialog secret={secret} onClose={() => setSecret(null)} />
    </Card>
  );
}
