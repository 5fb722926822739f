import { Money } from "@/components/billing/money";
import { StatCard } from "@/components/billing/stat-card";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import Link from "@/components/ui/link";
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
import type { OrgPage, OrgSpend } from "@/lib/orgs/overview";
import { cn } from "@/lib/utils";
import { SpendBars, SpendPerDay } from "./spend-charts";

const int = (n: number) => n.toLocaleString("en-US");

/** "12.5%": a part of the month's spend. */
const share = (part: bigint, whole: bigint) =>
  whole > 0n ? `${(Number((part * 1000n) / whole) / 10).toLocaleString("en-US")}%` : "—";

function Banner({
  tone,
  testId,
  children,
  action,
}: {
  tone: "warning" | "danger";
  testId: string;
  children: React.ReactNode;
  action?: React.ReactNode;
}) {
  return (
    <div
      role="status"
      data-testid={testId}
      className={cn(
        "flex flex-wrap items-center justify-between gap-3 rounded-lg border px-4 py-3 text-sm",
        tone === "warning"
          ? "border-amber-300 bg-amber-50 text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100"
          : "border-destructive/40 bg-destructive/10 text-destructive",
      )}
    >
      <span className="min-w-0">{children}</span>
      {action}
    </div>
  );
}

/** What stops or will soon stop the organization's calls, each with the way out for whoever may take it. */
export function OrgBanners({ page }: { page: OrgPage }) {
  const { org, can } = page;
  const account = org.account;
  const billingHref = `/orgs/${org.slug}/billing`;
  const topUp = can.billing ? (
    <Button asChild size="sm">
      <Link href={billingHref}>Top up</Link>
    </Button>
  ) : null;
  const askBilling = can.billing ? "" : " Ask the owner or a billing member to top up.";
  return (
    <>
      {org.status === "suspended" ? (
        <Banner tone="danger" testId="org-suspended">
          {org.name} is suspended by a platform administrator: its keys and the playground are refused until
          it is reinstated.
        </Banner>
      ) : null}
      {account.seatsDueMicros > 0n ? (
        <Banner tone="danger" testId="org-seats-due" action={topUp}>
          Seat fees of <Money micros={account.seatsDueMicros} /> are due and the balance cannot pay them: new
          calls are refused (402) until a top-up pays them.{askBilling}
        </Banner>
      ) : null}
      {account.availableMicros < account.lowBalanceMicros && account.seatsDueMicros === 0n ? (
        <Banner tone="warning" testId="org-low-balance" action={topUp}>
          The available balance (<Money micros={account.availableMicros} />) is below{" "}
          <Money micros={account.lowBalanceMicros} />: calls are refused once it runs out.{askBilling}
        </Banner>
      ) : null}
    </>
  );
}

/** A budget's use as a thin bar: charges plus reservations in its window against the budget. */
export function CapMeter({
  used,
  cap,
  label,
  testId,
}: {
  used: bigint | number;
  cap: bigint | number | null;
  label: string;
  testId?: string;
}) {
  if (cap === null) return null;
  const usedN = Number(used);
  const capN = Number(cap);
  const percent = capN <= 0 ? 100 : Math.min(100, Math.round((usedN / capN) * 1000) / 10);
  return (
    <div
      aria-hidden
      data-testid={testId}
      data-percent={percent}
      title={`${label}: ${percent}% (charges plus reservations)`}
      className="mt-1 h-1.5 w-full max-w-48 overflow-hidden rounded bg-muted"
    >
      <div
        className={cn(
          "h-full",
          percent >= 100 ? "bg-destructive" : percent >= 80 ? "bg-warning" : "bg-primary",
        )}
        style={{ width: `${percent}%` }}
      />
    </div>
  );
}

/** Balance, reservations, the month and the day against the organization's budgets, members and plan. */
export function OrgStats({ page }: { page: OrgPage }) {
  const a = page.org.account;
  return (
    <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-4">
      <StatCard
        label="Available balance"
        value={<Money micros={a.availableMicros} />}
        testId="org-available"
        valueClassName={cn("text-2xl tabular-nums", a.availableMicros < 0n && "text-destructive")}
        contentClassName="text-xs text-muted-foreground"
      >
        Balance <Money micros={a.balanceMicros} testId="org-balance" /> less what is reserved.
      </StatCard>
      <StatCard
        label="Reserved"
        value={<Money micros={a.heldMicros} />}
        testId="org-held"
        contentClassName="text-xs text-muted-foreground"
      >
        <Money micros={a.heldMicros - a.leasedMicros} /> by calls in progress,{" "}
        <Money micros={a.leasedMicros} /> by gateway leases: set aside, not spent.
      </StatCard>
      <StatCard
        label="Charged this month (UTC)"
        value={<Money micros={a.monthChargedMicros} />}
        testId="org-month-charged"
        contentClassName="grid gap-0.5 text-xs text-muted-foreground"
      >
        <span>
          {a.monthlyBudgetMicros !== null ? (
            <>
              Budget <Money micros={a.monthlyBudgetMicros} />
            </>
          ) : (
            "No monthly budget"
          )}
        </span>
        <CapMeter used={a.monthSpentMicros} cap={a.monthlyBudgetMicros} label="Monthly budget used" />
      </StatCard>
      <StatCard
        label="Charged today (UTC)"
        value={<Money micros={a.todayChargedMicros} />}
        testId="org-day-charged"
        contentClassName="grid gap-0.5 text-xs text-muted-foreground"
      >
        <span>
          {a.dailyBudgetMicros !== null ? (
            <>
              Budget <Money micros={a.dailyBudgetMicros} />
            </>
          ) : (
            "No daily budget"
          )}
          {" · "}
          {int(page.org.memberCount)} member{page.org.memberCount === 1 ? "" : "s"} · plan{" "}
          {a.planName ?? "pay as you go"}
        </span>
        <CapMeter used={a.todaySpentMicros} cap={a.dailyBudgetMicros} label="Daily budget used" />
      </StatCard>
    </div>
  );
}

/** Spend by member, key and model this month, and per day over 30 days, as the actor may see it. */
export function OrgSpendPanels({ page, spend }: { page: OrgPage; spend: OrgSpend }) {
  const keysHref = `/orgs/${page.org.slug}/keys`;
  const noCalls = {
    message:
      spend.scope === "own"
        ? "You have made no calls on this organization yet."
        : "No calls on this organization yet.",
    action: page.can.ownKeys ? { href: keysHref, label: "Create a key to call the gateway" } : undefined,
  };
  const noMonth = { ...noCalls, message: "No calls charged this month (UTC) yet." };
  const own = spend.scope === "own";
  return (
    <div className="grid grid-cols-1 gap-6">
      {own ? (
        <p className="text-sm text-muted-foreground" data-testid="org-spend-own">
          Your role shows your own calls; owners, admins and billing members see everyone&apos;s.
        </p>
      ) : null}
      <Card>
        <CardHeader>
          <CardTitle>Spend, last 30 days</CardTitle>
          <CardDescription>
            {own ? "Your calls" : "Every member's calls"}: what the organization was charged per UTC day.
          </CardDescription>
        </CardHeader>
        <CardContent>
          <SpendPerDay
            days={spend.daily.map((d) => ({ ...d, chargedMicros: Number(d.chargedMicros) }))}
            empty={noCalls}
          />
        </CardContent>
      </Card>
      <Card data-testid="org-by-member">
        <CardHeader>
          <CardTitle>Spend by member, this month (UTC)</CardTitle>
          <CardDescription>
            <Money micros={spend.monthChargedMicros} testId="org-spend-month" /> over {int(spend.monthCalls)}{" "}
            call
            {spend.monthCalls === 1 ? "" : "s"}.
          </CardDescription>
        </CardHeader>
        <CardContent className="grid grid-cols-1 gap-4 lg:grid-cols-2">
          <SpendBars
            rows={spend.byMember.map((m) => ({
              label: m.name ?? m.email,
              chargedMicros: Number(m.chargedMicros),
            }))}
            testId="org-member-chart"
            empty={noMonth}
          />
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Member</TableHead>
                <TableHead className="text-right">Calls</TableHead>
                <TableHead className="text-right">Charged</TableHead>
                <TableHead className="text-right">Share</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {spend.byMember.length === 0 ? <TableMessage colSpan={4}>No members yet.</TableMessage> : null}
              {spend.byMember.map((m) => (
                <TableRow key={m.userId} data-testid="org-member-spend" data-email={m.email}>
                  <TableCell>
                    <TableTruncate text={m.email} className="max-w-56">
                      <span className="block truncate">{m.name ?? m.email}</span>
                    </TableTruncate>
                    <span className="text-xs text-muted-foreground">
                      {m.role ?? <Badge variant="outline">left</Badge>}
                    </span>
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{int(m.calls)}</TableCell>
                  <TableCell className="text-right tabular-nums" data-testid="org-member-charged">
                    <Money micros={m.chargedMicros} />
                  </TableCell>
                  <TableCell className="text-right text-muted-foreground tabular-nums">
                    {share(m.chargedMicros, spend.monthChargedMicros)}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </CardContent>
      </Card>
      <div className="grid grid-cols-1 gap-6 xl:grid-cols-2">
        <Card data-testid="org-by-key">
          <CardHeader>
            <CardTitle>By key, this month</CardTitle>
            <CardDescription>The keys that spent the most, and who made each.</CardDescription>
          </CardHeader>
          <CardContent>
            <Table>
              <TableHeader>
                <TableRow>
                  <TableHead>Key · maker</TableHead>
                  <TableHead className="text-right">Calls</TableHead>
                  <TableHead className="text-right">Charged</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {spend.byKey.length === 0 ? (
                  <TableMessage colSpan={3}>
                    No key has spent this month.{" "}
                    {page.can.ownKeys ? (
                      <Link href={keysHref} className="font-medium text-primary hover:underline">
                        Create a key
                      </Link>
                    ) : null}
                  </TableMessage>
                ) : null}
                {spend.byKey.map((k) => (
                  <TableRow key={k.keyId}>
                    <TableCell>
                      <span className="flex min-w-0 items-center gap-2">
                        <TableTruncate text={k.name} className="max-w-48 font-medium" />
                        <span className="font-mono text-xs text-muted-foreground">{k.prefix}…</span>
                        {k.status === "revoked" ? <Badge variant="destructive">revoked</Badge> : null}
                      </span>
                      <TableTruncate text={k.makerEmail} className="max-w-64 text-xs text-muted-foreground" />
                    </TableCell>
                    <TableCell className="text-right tabular-nums">{int(k.calls)}</TableCell>
                    <TableCell className="text-right tabular-nums">
                      <Money micros={k.chargedMicros} />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </CardContent>
        </Card>
        <Card data-testid="org-by-model">
          <CardHeader>
            <CardTitle>By model, this month</CardTitle>
            <CardDescription>Where the money went, model by model.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4">
            <SpendBars
              rows={spend.byModel.map((m) => ({ label: m.model, chargedMicros: Number(m.chargedMicros) }))}
              testId="org-model-chart"
              empty={noMonth}
            />
            {spend.byModel.length ? (
              <Table>
                <TableHeader>
                  <TableRow>
                    <TableHead>Model</TableHead>
                    <TableHead className="text-right">Calls</TableHead>
                    <TableHead className="text-right">Charged</TableHead>
                    <TableHead className="text-right">Share</TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {spend.byModel.map((m) => (
                    <TableRow key={m.model}>
                      <TableCell>
                        <TableTruncate text={m.model} className="max-w-48" />
                      </TableCell>
                      <TableCell className="text-right tabular-nums">{int(m.calls)}</TableCell>
                      <TableCell className="text-right tabular-nums">
                        <Money micros={m.chargedMicros} />
                      </TableCell>
                      <TableCell className="text-right text-muted-foreground tabular-nums">
                        {share(m.chargedMicros, spend.monthChargedMicros)}
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            ) : null}
          </CardContent>
        </Card>
      </div>
    </div>
  );
}

/** The organization's overview: what blocks calls, its figures, where its money went. */
export function OrgOverview({ page, spend }: { page: OrgPage; spend: OrgSpend }) {
  return (
    <div className="grid grid-cols-1 gap-6">
      <OrgBanners page={page} />
      <OrgStats page={page} />
      <OrgSpendPanels page={page} spend={spend} />
    </div>
  );
}
