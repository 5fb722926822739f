"use client";

import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { Download, Search, X } from "lucide-react";
import { useEffect, useState } from "react";
import { billedUnits, rate } from "@/components/billing/format";
import { Money } from "@/components/billing/money";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy-button";
import { DataTable, QueryError } from "@/components/ui/data-table";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import Link from "@/components/ui/link";
import type { RequestDetail, RequestRow } from "@/lib/analytics/requests";
import {
  CALL_ID_PREFIX_MIN,
  callIdSearch,
  FLAGGED_SAFETY_SCORE,
  LOG_FILTER_KEYS,
  piiSummary,
} from "@/lib/analytics/schemas";
import type { Json } from "@/lib/json";
import { api } from "@/lib/ui/api";
import { utcTime } from "@/lib/utils";
import { FilterBar, useUrlFilters } from "./filters";
import { developerColumns, int, moneyColumn, utcLabel } from "./usage-analytics";

type Row = Json<RequestRow>;
type Detail = Json<RequestDetail>;

const BILLING_VARIANT = { exact: "default", estimated: "secondary", waived: "outline" } as const;

/** A call's safety score as a badge: flagged (red) from FLAGGED_SAFETY_SCORE, amber from half of it, else quiet. */
export function SafetyBadge({ score }: { score: number | null }) {
  if (score === null) return null;
  const flagged = score >= FLAGGED_SAFETY_SCORE;
  const variant = flagged ? "destructive" : score >= FLAGGED_SAFETY_SCORE / 2 ? "warning" : "outline";
  return (
    <Badge
      variant={variant}
      data-testid="safety-badge"
      title={`Prompt-injection heuristic score ${score} of 100${flagged ? `: flagged (≥ ${FLAGGED_SAFETY_SCORE})` : ""}`}
    >
      {flagged ? "flagged " : "safety "}
      {score}
    </Badge>
  );
}

/** What the gateway observed of a call besides its units (under its outcome): a cache hit, PII masked, safety score. */
function Signals({ r }: { r: Pick<Row, "cacheHit" | "piiMasked" | "safetyScore" | "credential"> }) {
  const pii = piiSummary(r.piiMasked);
  const byok = r.credential === "byok";
  if (!r.cacheHit && !pii && r.safetyScore === null && !byok) return null;
  return (
    <div className="mt-1 grid max-w-32 justify-items-start gap-0.5 whitespace-normal">
      <div className="flex flex-wrap gap-1">
        {r.cacheHit ? (
          <Badge variant="success" data-testid="cache-badge" title="Answered from the response cache">
            cache
          </Badge>
        ) : null}
        <SafetyBadge score={r.safetyScore} />
        {byok ? (
          <Badge
            variant="outline"
            data-testid="byok-badge"
            title="Served with the owner's own provider key: charged the plan's BYOK fee"
          >
            BYOK
          </Badge>
        ) : null}
      </div>
      {pii ? (
        <span className="text-xs text-muted-foreground" data-testid="pii-masked" title="PII values masked">
          {pii}
        </span>
      ) : null}
    </div>
  );
}

/** A link inside a clickable row: it navigates, the row's drawer does not open. Named by its text; label is its hover. */
function RowLink({
  href,
  label,
  children,
  className,
}: {
  href: string;
  label: string;
  children: React.ReactNode;
  className?: string;
}) {
  return (
    <Link
      href={href}
      title={label}
      className={`block truncate underline-offset-2 hover:underline ${className ?? ""}`}
      onClick={(e) => e.stopPropagation()}
      onKeyDown={(e) => e.stopPropagation()}
    >
      {children}
    </Link>
  );
}

/** Where a call's key and user are: the admin's keys and users pages, or the developer's own keys. */
export function callLinks(scope: "admin" | "me", r: { keyId: string; userId: string; userEmail: string }) {
  return {
    key: scope === "admin" ? `/admin/keys?keyId=${r.keyId}` : `/account/keys?keyId=${r.keyId}`,
    user: `/admin/users?q=${encodeURIComponent(r.userEmail)}`,
    userCalls: `/admin/requests?userId=${r.userId}`,
  };
}

function columnsFor(scope: "admin" | "me"): ColumnDef<Row, unknown>[] {
  return [
    {
      id: "startedAt",
      accessorKey: "startedAt",
      header: "Time (UTC)",
      cell: ({ row }) => (
        <span className="font-mono text-xs" title={utcTime(row.original.startedAt)}>
          <span className="block">{utcTime(row.original.startedAt).slice(0, 10)}</span>
          <span className="block">{utcTime(row.original.startedAt).slice(11)}</span>
        </span>
      ),
    },
    {
      id: "user",
      accessorKey: "userEmail",
      header: "User · key · organization",
      cell: ({ row }) => {
        const links = callLinks(scope, row.original);
        return (
          <div className="max-w-40">
            <RowLink href={links.user} label={`User ${row.original.userEmail}`}>
              {row.original.userEmail}
            </RowLink>
            <RowLink
              href={links.key}
              label={`Key ${row.original.keyPrefix} (${row.original.keyName})`}
              className="font-mono text-xs text-muted-foreground"
            >
              {row.original.keyPrefix}
            </RowLink>
            {row.original.organizationName ? (
              <span className="block truncate text-xs text-muted-foreground" title="Organization charged">
                {row.original.organizationName}
              </span>
            ) : null}
          </div>
        );
      },
    },
    {
      id: "key",
      accessorKey: "keyPrefix",
      header: "Key",
      cell: ({ row }) => (
        <div className="max-w-32">
          <RowLink
            href={callLinks(scope, row.original).key}
            label={`Key ${row.original.keyPrefix} (${row.original.keyName})`}
          >
            <span className="block truncate">{row.original.keyName}</span>
            <span className="block font-mono text-xs text-muted-foreground">{row.original.keyPrefix}</span>
          </RowLink>
        </div>
      ),
    },
    {
      id: "model",
      accessorKey: "model",
      header: "Model · kind",
      cell: ({ row }) => (
        <div className="max-w-36">
          <div className="truncate" title={row.original.model}>
            {row.original.model}
          </div>
          <div className="text-xs text-muted-foreground">
            {row.original.kind}
            {row.original.stream ? " · stream" : ""}
          </div>
        </div>
      ),
    },
    {
      id: "units",
      accessorFn: (r) => r.promptTokens + r.completionTokens + r.images + r.audioMs + r.characters,
      header: "Units",
      meta: { numeric: true },
      cell: ({ row }) => (
        <div className="ml-auto max-w-32 whitespace-normal">{billedUnits(row.original)}</div>
      ),
    },
    moneyColumn<Row>("revenue", "Revenue", (r) => (
      <div>
        <div>
          <Money micros={r.revenueMicros} />
        </div>
        <Badge
          variant={BILLING_VARIANT[r.billingStatus as keyof typeof BILLING_VARIANT] ?? "outline"}
          className="mt-0.5"
        >
          {r.billingStatus}
        </Badge>
      </div>
    )),
    // Admins: provider cost over margin in one column (developers see neither: developerColumns drops "cost").
    moneyColumn<Row>("cost", "Cost · margin", (r) => (
      <div>
        <div>
          <Money micros={r.costMicros} />
        </div>
        <div className="text-xs text-muted-foreground">
          <Money micros={r.marginMicros} />
        </div>
      </div>
    )),
    {
      id: "outcome",
      accessorKey: "latencyMs",
      header: "Outcome",
      cell: ({ row }) => (
        <div className="max-w-32">
          {row.original.errorClass ? (
            <div className="truncate text-destructive" title={row.original.errorClass}>
              {row.original.errorClass}
            </div>
          ) : (
            <div className={row.original.status === "success" ? "" : "text-amber-600"}>
              {row.original.status}
            </div>
          )}
          <div
            className="truncate text-xs text-muted-foreground"
            title={`${int(row.original.latencyMs)} ms${row.original.ttftMs !== null ? `, first token after ${int(row.original.ttftMs)} ms` : ""}`}
          >
            {int(row.original.latencyMs)} ms
            {row.original.ttftMs !== null ? ` · TTFT ${int(row.original.ttftMs)}` : ""}
          </div>
          <Signals r={row.original} />
        </div>
      ),
    },
  ];
}

const ADMIN_COLUMNS = columnsFor("admin").filter((c) => c.id !== "key");
const MY_COLUMNS = developerColumns(columnsFor("me"), ["user"]);
const EXTRA_KEYS = ["callId", ...LOG_FILTER_KEYS] as const;

/** The call id search: the whole id or its first characters, checked before it reaches the URL. */
function CallIdSearch({
  value,
  onSearch,
}: {
  value: string | undefined;
  onSearch: (id: string | undefined) => void;
}) {
  const [text, setText] = useState(value ?? "");
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setText(value ?? ""), [value]);
  return (
    <form
      className="grid gap-1"
      onSubmit={(e) => {
        e.preventDefault();
        if (!text.trim()) {
          setError(null);
          onSearch(undefined);
          return;
        }
        const parsed = callIdSearch.safeParse(text);
        if (!parsed.success) {
          setError(
            `Enter a call id, or its first ${CALL_ID_PREFIX_MIN} characters or more (0-9, a-f and dashes).`,
          );
          return;
        }
        setError(null);
        onSearch(parsed.data);
      }}
    >
      <div className="flex flex-wrap items-center gap-2">
        <div className="relative min-w-0 flex-1 basis-64">
          <Search className="absolute top-2.5 left-2.5 size-4 text-muted-foreground" />
          <Input
            aria-label="Search by call id"
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "call-id-error" : undefined}
            placeholder="Call id or its start"
            className="pl-8 font-mono"
            value={text}
            maxLength={36}
            onChange={(e) => setText(e.target.value)}
          />
        </div>
        <Button type="submit" variant="outline" size="sm">
          Find call
        </Button>
        {value ? (
          <Button
            type="button"
            variant="ghost"
            size="sm"
            onClick={() => {
              setText("");
              setError(null);
              onSearch(undefined);
            }}
          >
            <X /> Clear
          </Button>
        ) : null}
      </div>
      {error ? (
        <p id="call-id-error" role="alert" className="text-sm text-destructive">
          {error}
        </p>
      ) : null}
    </form>
  );
}

/** Every call, newest first, with the shared filters, cursor paging, a detail drawer and a CSV export. */
export function RequestLog({ scope = "admin" }: { scope?: "admin" | "me" }) {
  const admin = scope === "admin";
  const base = admin ? "/api/v1" : "/api/v1/me";
  const { filters, query, set } = useUrlFilters(EXTRA_KEYS);
  // The call opened in the drawer: its id and its UTC day (the detail then reads one daily partition).
  const [open, setOpen] = useState<{ id: string; day: string } | null>(null);
  // ?callId= (a link from the command palette or a shared address): the call's drawer opens once it is found.
  const [opened, setOpened] = useState<string | null>(null);
  const { data, error, isLoading, refetch, fetchNextPage, hasNextPage, isFetchingNextPage } =
    useInfiniteQuery({
      queryKey: ["requests", base, query],
      queryFn: ({ pageParam }) =>
        api<{ items: Row[]; nextCursor: string | null; range: { from: string; to: string } }>(
          `${base}/requests?${query}${pageParam ? `&cursor=${pageParam}` : ""}`,
        ),
      initialPageParam: "",
      getNextPageParam: (last) => last.nextCursor ?? undefined,
      refetchInterval: 30_000,
    });
  const rows = data?.pages.flatMap((p) => p.items) ?? [];
  const range = data?.pages[0]?.range;
  const callId = filters.callId;
  const found = callId && rows.length === 1 && rows[0]!.callId === callId ? rows[0]! : null;
  useEffect(() => {
    if (found && opened !== found.callId) {
      setOpened(found.callId);
      setOpen({ id: found.id, day: found.startedAt.slice(0, 10) });
    }
  }, [found, opened]);
  return (
    <div className="grid gap-4">
      <FilterBar filters={filters} set={set} base={base} admin={admin} log />
      <CallIdSearch value={callId} onSearch={(id) => set({ callId: id })} />
      {error ? <QueryError error={error} retry={() => refetch()} /> : null}
      <Card>
        <CardHeader className="flex flex-row items-start justify-between gap-4">
          <div>
            <CardTitle>Calls</CardTitle>
            <CardDescription>
              {callId ? `Calls whose id ${callId.length === 36 ? "is" : "starts with"} ${callId} · ` : ""}
              {range ? `${utcLabel(range.from)} → ${utcLabel(range.to)}` : "Loading…"} · newest first. Prompt
              and completion bodies are not stored: the log records what each call was and what it cost, never
              what it said.
            </CardDescription>
          </div>
          <Button asChild variant="outline" size="sm">
            <a href={`${base}/requests/export?${query}`} download data-testid="export-csv">
              <Download className="size-4" /> Export CSV
            </a>
          </Button>
        </CardHeader>
        <CardContent className="grid gap-3">
          <DataTable
            columns={admin ? ADMIN_COLUMNS : MY_COLUMNS}
            data={rows}
            loading={isLoading}
            rowTestId="request-row"
            rowKey={(r) => r.id}
            onRow={(r) => setOpen({ id: r.id, day: r.startedAt.slice(0, 10) })}
            empty={
              callId
                ? `No call ${callId.length === 36 ? "with the id" : "whose id starts with"} ${callId}${admin ? "" : " among your calls"}. Check the id, or clear the search.`
                : "No calls match. Widen the range or clear a filter; every call an app makes with a Tollgate key shows here."
            }
          />
          <div className="flex items-center justify-between text-sm text-muted-foreground">
            <span>{rows.length ? `${int(rows.length)} calls shown` : ""}</span>
            {hasNextPage ? (
              <Button
                variant="outline"
                size="sm"
                onClick={() => fetchNextPage()}
                disabled={isFetchingNextPage}
              >
                {isFetchingNextPage ? "Loading…" : "Load older calls"}
              </Button>
            ) : rows.length ? (
              <span>End of the log for these filters.</span>
            ) : null}
          </div>
        </CardContent>
      </Card>
      <RequestDrawer
        id={open?.id ?? null}
        day={open?.day ?? null}
        base={base}
        scope={scope}
        onClose={() => setOpen(null)}
      />
    </div>
  );
}

function Line({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[10rem_1fr] gap-2 py-1 text-sm">
      <span className="text-muted-foreground">{label}</span>
      <span className="min-w-0 [overflow-wrap:anywhere]">{children}</span>
    </div>
  );
}

function RequestDrawer({
  id,
  day,
  base,
  scope,
  onClose,
}: {
  id: string | null;
  day: string | null;
  base: string;
  scope: "admin" | "me";
  onClose: () => void;
}) {
  const { data, error, isLoading } = useQuery({
    queryKey: ["request", base, id, day],
    queryFn: () => api<{ request: Detail }>(`${base}/requests/${id}${day ? `?day=${day}` : ""}`),
    enabled: Boolean(id),
  });
  const r = data?.request;
  return (
    <Dialog open={Boolean(id)} onOpenChange={(o) => (o ? null : onClose())}>
      <DialogContent
        className="top-0 right-0 left-auto h-full max-h-screen translate-x-0 translate-y-0 overflow-y-auto rounded-none sm:max-w-xl"
        data-testid="request-drawer"
      >
        <DialogHeader>
          <DialogTitle className="flex min-w-0 items-center gap-1 pr-6">
            <span className="min-w-0 [overflow-wrap:anywhere]">
              Call{" "}
              <span className="font-mono text-base" data-testid="drawer-call-id">
                {r ? r.callId : ""}
              </span>
            </span>
            {r ? <CopyButton text={r.callId} label="Copy call id" /> : null}
          </DialogTitle>
          <DialogDescription>
            What it was, what reserved its money, and the ledger entry that charged it.
          </DialogDescription>
        </DialogHeader>
        {error ? <p className="text-sm text-destructive">{error.message}</p> : null}
        {isLoading || !r ? (
          <div className="h-40 animate-pulse rounded bg-muted" />
        ) : (
          <div className="grid gap-4">
            <section>
              <h3 className="mb-1 text-sm font-semibold">Call</h3>
              <Line label="Started (UTC)">{utcTime(r.startedAt)}</Line>
              <Line label="Ended (UTC)">
                {utcTime(r.endedAt)} · {int(r.latencyMs)} ms
              </Line>
              <Line label="User · key">
                {scope === "admin" ? (
                  <Link href={callLinks(scope, r).user} className="underline-offset-2 hover:underline">
                    {r.userEmail}
                  </Link>
                ) : (
                  r.userEmail
                )}{" "}
                ·{" "}
                <Link href={callLinks(scope, r).key} className="underline-offset-2 hover:underline">
                  <span className="font-mono">{r.keyPrefix}</span> ({r.keyName})
                </Link>
              </Line>
              <Line label="Charged to">
                {r.organizationName ? `${r.organizationName} (organization)` : `${r.userEmail}'s own account`}
              </Line>
              {scope === "admin" ? (
                <Line label="Links">
                  <Link
                    href={`/admin/accounts/${r.accountId}`}
                    className="underline-offset-2 hover:underline"
                  >
                    Account
                  </Link>
                  {" · "}
                  <Link href={callLinks(scope, r).userCalls} className="underline-offset-2 hover:underline">
                    The user's calls
                  </Link>
                  {" · "}
                  <Link
                    href={`/admin/requests?keyId=${r.keyId}`}
                    className="underline-offset-2 hover:underline"
                  >
                    The key's calls
                  </Link>
                </Line>
              ) : (
                <Line label="Links">
                  <Link
                    href={`/account/requests?keyId=${r.keyId}`}
                    className="underline-offset-2 hover:underline"
                  >
                    This key's calls
                  </Link>
                </Line>
              )}
              <Line label="Model">
                {r.model} → {r.providerModel || "—"} · {r.kind}
                {r.stream ? " · stream" : ""}
              </Line>
              <Line label="Outcome">
                {r.status}
                {r.errorClass ? ` · ${r.errorClass}` : ""}
              </Line>
              <Line label="Tokens">
                {int(r.promptTokens)} in ({int(r.cachedTokens)} cached read, {int(r.cacheWriteTokens)} cache
                write) → {int(r.completionTokens)} out ({int(r.reasoningTokens)} reasoning)
              </Line>
              {r.images || r.audioMs || r.characters ? <Line label="Billed by">{billedUnits(r)}</Line> : null}
              <Line label="Response cache">
                {r.cacheHit ? (
                  <>
                    answered from the cache · saved <Money micros={r.cacheSavedMicros} />
                  </>
                ) : (
                  "not from the cache"
                )}
              </Line>
              <Line label="Provider key">
                {r.credential === "byok"
                  ? "the owner's own (BYOK): charged the plan's platform fee, the provider bills them"
                  : "Tollgate's"}
              </Line>
              <Line label="PII masked">{piiSummary(r.piiMasked) || "none"}</Line>
              <Line label="Safety score">
                {r.safetyScore === null ? "not scored" : <SafetyBadge score={r.safetyScore} />}
              </Line>
            </section>
            <section>
              <h3 className="mb-1 text-sm font-semibold">Money</h3>
              <Line label="Billing">{r.billingStatus}</Line>
              <Line label="Revenue">
                <Money micros={r.revenueMicros} />
              </Line>
              {r.costMicros !== undefined ? (
                <>
                  <Line label="Provider cost">
                    <Money micros={r.costMicros} />
                  </Line>
                  <Line label="Margin">
                    <Money micros={r.marginMicros} />
                  </Line>
                </>
              ) : null}
              {r.reportedCostMicros !== undefined ? (
                <Line label="LiteLLM's estimate">
                  <Money micros={r.reportedCostMicros} />
                </Line>
              ) : null}
              <Line label="Price version">
                {r.priceVersion
                  ? `input ${rate(r.priceVersion.inputPriceMicros, "1M tokens")}, output ${rate(r.priceVersion.outputPriceMicros, "1M tokens")}${r.priceVersion.imageRateMicros === null ? "" : `, image ${rate(r.priceVersion.imageRateMicros, "image")}`}, from ${utcTime(r.priceVersion.effectiveFrom)}`
                  : "—"}
              </Line>
            </section>
            <section data-testid="drawer-reservation">
              <h3 className="mb-1 text-sm font-semibold">Reservation</h3>
              {r.hold ? (
                <>
                  <Line label="Hold">
                    <span className="font-mono text-xs">{r.hold.id}</span>
                  </Line>
                  <Line label="Held">
                    <Money micros={r.hold.amountMicros} /> · {r.hold.status}
                    {r.hold.closeReason ? ` (${r.hold.closeReason})` : ""}
                  </Line>
                </>
              ) : r.lease ? (
                <>
                  <Line label="Lease">
                    <span className="font-mono text-xs">{r.lease.id}</span>
                  </Line>
                  <Line label="Drawn for this call">
                    <Money micros={r.drawMicros} />
                  </Line>
                  <Line label="Lease">
                    {r.lease.status} · granted <Money micros={r.lease.grantedMicros} />, charged{" "}
                    <Money micros={r.lease.chargedMicros} /> over {int(r.lease.calls)} calls
                  </Line>
                </>
              ) : (
                <p className="text-sm text-muted-foreground">
                  None recorded (a call settled by reconciliation).
                </p>
              )}
            </section>
            <section data-testid="drawer-ledger">
              <h3 className="mb-1 text-sm font-semibold">Ledger</h3>
              {r.ledger ? (
                <>
                  <Line label="Transaction">
                    <span className="font-mono text-xs">{r.ledger.id}</span>
                  </Line>
                  <Line label="Kind · when">
                    {r.ledger.kind} · {utcTime(r.ledger.createdAt)}
                  </Line>
                  {r.ledger.accountAmountMicros !== undefined && r.ledger.events !== undefined ? (
                    <Line label="Account entry">
                      <Money micros={r.ledger.accountAmountMicros} /> for {int(r.ledger.events)} call
                      {r.ledger.events === 1 ? "" : "s"} settled together
                    </Line>
                  ) : null}
                </>
              ) : (
                <p className="text-sm text-muted-foreground">
                  Not charged (nothing to charge, or not settled yet).
                </p>
              )}
            </section>
          </div>
        )}
      </DialogContent>
    </Dialog>
  );
}
