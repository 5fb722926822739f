import { BookOpen, ChartColumn, KeyRound, List, MessageSquare, Tags, Wallet } from "lucide-react";
import { billedUnits } from "@/components/billing/format";
import { Money } from "@/components/billing/money";
import { PlanCard, requestsOfLimit, StatCard } from "@/components/billing/stat-card";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import Link from "@/components/ui/link";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import type { RequestRow } from "@/lib/analytics/requests";
import type { Account } from "@/lib/billing/ledger";
import { BURN_DAYS, type HomeOverview } from "@/lib/home/overview";
import { cn, formatUtc } from "@/lib/utils";

/** The warning the billing page shows, with the way out: below the threshold, calls may soon be refused. */
export function LowBalance({ account }: { account: Account }) {
  const available = account.balanceMicros - account.heldMicros;
  if (available >= account.lowBalanceMicros) return null;
  return (
    <div
      role="status"
      data-testid="home-low-balance"
      className="flex flex-wrap items-center justify-between gap-3 rounded-lg border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100"
    >
      <span>
        Your available balance (<Money micros={available} />) is below{" "}
        <Money micros={account.lowBalanceMicros} />. Add funds before calls are refused.
      </span>
      <Button asChild size="sm">
        <Link href="/account/billing">Top up</Link>
      </Button>
    </div>
  );
}

export function StatCards({ overview }: { overview: HomeOverview }) {
  const { account, burn, grant } = overview;
  if (!account) return null;
  const available = account.balanceMicros - account.heldMicros;
  return (
    <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-4">
      <StatCard
        label="Balance"
        value={<Money micros={account.balanceMicros} />}
        testId="home-balance"
        valueClassName={cn("text-2xl tabular-nums", account.balanceMicros < 0n && "text-destructive")}
        contentClassName="grid gap-1 text-xs text-muted-foreground"
      >
        <span>
          Available for new calls: <Money micros={available} className="tabular-nums" />
        </span>
        <Link href="/account/billing" className="text-primary underline-offset-4 hover:underline">
          Add funds or redeem a code
        </Link>
      </StatCard>
      <StatCard
        label={<>Burn rate (last {BURN_DAYS} days, UTC)</>}
        value={
          <>
            <Money micros={burn.averageDailyMicros} />
            <span className="text-sm font-normal text-muted-foreground"> / day</span>
          </>
        }
        testId="home-burn"
        contentClassName="grid gap-1 text-xs text-muted-foreground"
      >
        <span>
          <Money micros={burn.chargedMicros} /> charged in {BURN_DAYS} days
        </span>
        <span data-testid="home-runway">
          {burn.daysLeft === null
            ? "Nothing charged yet: no pace to measure."
            : burn.daysLeft === 0
              ? "At this pace the available balance is used up today."
              : burn.daysLeft > 365
                ? "At this pace the available balance lasts more than a year."
                : `At this pace the available balance lasts about ${burn.daysLeft.toLocaleString("en-US")} day${burn.daysLeft === 1 ? "" : "s"}.`}
        </span>
      </StatCard>
      <PlanCard
        planName={account.planName}
        testId="home-plan"
        valueClassName="truncate text-xl leading-8"
        contentClassName="grid gap-1 text-xs text-muted-foreground tabular-nums"
      >
        {grant ? (
          <span data-testid="home-grant">
            <Money micros={grant.monthlyGrantMicros} /> credit each month, next on {grant.nextGrantDay} (UTC)
          </span>
        ) : account.planName ? null : (
          <span>You pay for each call from your balance.</span>
        )}
        <span>
          {account.requestsPerDay === null
            ? `${account.dayRequests.toLocaleString("en-US")} request${account.dayRequests === 1 ? "" : "s"} today, no daily limit`
            : requestsOfLimit(account.dayRequests, account.requestsPerDay)}
        </span>
      </PlanCard>
      <StatCard
        label="Charged today (UTC)"
        value={<Money micros={account.dayChargedMicros} />}
        testId="home-today"
        contentClassName="grid gap-1 text-xs text-muted-foreground tabular-nums"
      >
        <span>
          <Money micros={account.monthChargedMicros} /> this month
        </span>
        <span>
          <Money micros={account.heldMicros} /> reserved by calls and leases (not spent)
        </span>
      </StatCard>
    </div>
  );
}

const STATUS_VARIANT = { success: "success", cut: "warning", failure: "destructive" } as const;

export function RecentCalls({ calls }: { calls: RequestRow[] }) {
  return (
    <Card className="min-w-0">
      <CardHeader className="flex flex-row items-start justify-between gap-2">
        <div className="grid gap-1.5">
          <CardTitle>Recent calls</CardTitle>
          <CardDescription>Your last five, with what each was charged.</CardDescription>
        </div>
        <Button asChild variant="outline" size="sm">
          <Link href="/account/requests">My calls</Link>
        </Button>
      </CardHeader>
      <CardContent className="min-w-0">
        {calls.length === 0 ? (
          <p data-testid="home-no-calls" className="text-sm text-muted-foreground">
            No calls in the last 90 days. Make one with the quick start, or try a model in the{" "}
            <Link href="/playground" className="text-primary underline underline-offset-4">
              playground
            </Link>
            .
          </p>
        ) : (
          <div className="overflow-x-auto">
            <Table data-testid="home-calls">
              <TableHeader>
                <TableRow>
                  <TableHead>When</TableHead>
                  <TableHead>Model</TableHead>
                  <TableHead className="hidden md:table-cell">Usage</TableHead>
                  <TableHead className="hidden sm:table-cell">Status</TableHead>
                  <TableHead className="text-right">Cost</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {calls.map((c) => (
                  <TableRow key={c.id}>
                    <TableCell className="text-muted-foreground tabular-nums" title={formatUtc(c.startedAt)}>
                      <span className="block whitespace-nowrap sm:inline">
                        {formatUtc(c.startedAt).slice(0, 10)}
                      </span>{" "}
                      <span className="whitespace-nowrap">{formatUtc(c.startedAt).slice(11)}</span>
                    </TableCell>
                    <TableCell className="max-w-48 truncate font-mono text-xs" title={c.model}>
                      {c.model}
                      {c.status === "success" ? null : (
                        <span className="block font-sans text-destructive sm:hidden">{c.status}</span>
                      )}
                    </TableCell>
                    <TableCell className="hidden text-muted-foreground md:table-cell">
                      {billedUnits(c)}
                    </TableCell>
                    <TableCell className="hidden sm:table-cell">
                      <Badge variant={STATUS_VARIANT[c.status as keyof typeof STATUS_VARIANT] ?? "secondary"}>
                        {c.status}
                      </Badge>
                    </TableCell>
                    <TableCell className="text-right tabular-nums">
                      <Money micros={c.revenueMicros} />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </div>
        )}
      </CardContent>
    </Card>
  );
}

const LINKS = [
  { href: "/playground", label: "Playground", hint: "Chat with any model you may use", icon: MessageSquare },
  { href: "/account/models", label: "Models & prices", hint: "What each model costs", icon: Tags },
  { href: "/account/keys", label: "My API keys", hint: "Create, rotate and revoke", icon: KeyRound },
  { href: "/account/usage", label: "My usage", hint: "Spend by model and day", icon: ChartColumn },
  { href: "/account/requests", label: "My calls", hint: "Every call and its charge", icon: List },
  { href: "/account/billing", label: "Balance & usage", hint: "Top up, codes, ledger", icon: Wallet },
] as const;

export function Shortcuts() {
  return (
    <Card className="self-start">
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          <BookOpen className="size-4" /> Go to
        </CardTitle>
      </CardHeader>
      <CardContent>
        <nav aria-label="Shortcuts" className="grid gap-1">
          {LINKS.map(({ href, label, hint, icon: Icon }) => (
            <Link
              key={href}
              href={href}
              className="flex items-center gap-3 rounded-md px-2 py-2 text-sm transition-colors hover:bg-accent"
            >
              <Icon className="size-4 shrink-0 text-muted-foreground" />
              <span className="grid">
                <span className="font-medium">{label}</span>
                <span className="text-xs text-muted-foreground">{hint}</span>
              </span>
            </Link>
          ))}
        </nav>
      </CardContent>
    </Card>
  );
}
