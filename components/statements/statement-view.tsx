import type { ReactNode } from "react";
import { Badge } from "@/components/ui/badge";
import { buttonVariants } from "@/components/ui/button";
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
} from "@/components/ui/table";
import { UtcTime } from "@/components/ui/utc-time";
import { monthName } from "@/lib/statements/compute";
import { type ChargeGroup, CREDIT_METHOD_LABEL, type Statement } from "@/lib/statements/schemas";
import { ExactMoney } from "./amount";

function Total({ label, micros, testId }: { label: string; micros: bigint; testId: string }) {
  return (
    <div className="flex items-baseline justify-between gap-4 border-t pt-3 text-sm font-medium">
      <span>{label}</span>
      <ExactMoney micros={micros} testId={testId} />
    </div>
  );
}

function Groups({ title, groups, testId }: { title: string; groups: ChargeGroup[]; testId: string }) {
  return (
    <div className="min-w-0" data-testid={testId}>
      <h3 className="mb-2 text-sm font-medium">{title}</h3>
      <Table>
        <TableHeader>
          <TableRow>
            <TableHead>{title.replace(/^By (.)/, (_, c: string) => c.toUpperCase())}</TableHead>
            <TableHead className="text-right">Calls</TableHead>
            <TableHead className="text-right">Charged</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {groups.length === 0 ? <TableMessage colSpan={3}>No calls this month.</TableMessage> : null}
          {groups.map((g) => (
            <TableRow key={g.id}>
              <TableCell className="max-w-64 truncate" title={g.label}>
                {g.label}
              </TableCell>
              <TableCell className="text-right tabular-nums">{g.calls.toLocaleString("en-US")}</TableCell>
              <TableCell className="text-right">
                <ExactMoney micros={g.amountMicros} />
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </div>
  );
}

/** A section's lines: its columns (the last, an amount, to the right), a line for none, then the rows. */
function Lines({
  columns,
  empty,
  count,
  children,
}: {
  columns: string[];
  empty: string;
  count: number;
  children: ReactNode;
}) {
  return (
    <Table>
      <TableHeader>
        <TableRow>
          {columns.map((column, i) => (
            <TableHead key={column} className={i === columns.length - 1 ? "text-right" : undefined}>
              {column}
            </TableHead>
          ))}
        </TableRow>
      </TableHeader>
      <TableBody>
        {count === 0 ? <TableMessage colSpan={columns.length}>{empty}</TableMessage> : null}
        {children}
      </TableBody>
    </Table>
  );
}

/** A month's statement as a page: the same lines and amounts as its PDF and CSV (receipts link to their pages). */
export function StatementView({ statement: s, apiPath }: { statement: Statement; apiPath: string }) {
  const download = `${apiPath}/${s.month}`;
  return (
    <div className="grid min-w-0 grid-cols-1 gap-6">
      <Card data-testid="statement-summary">
        <CardHeader>
          <CardTitle className="flex flex-wrap items-center gap-2">
            {s.number ? (
              <span data-testid="statement-number">Statement {s.number}</span>
            ) : (
              <>
                <span>Statement</span>
                <Badge variant="outline" data-testid="statement-open">
                  open · not final
                </Badge>
              </>
            )}
          </CardTitle>
          <CardDescription>
            {s.holder}, {monthName(s.month)} (UTC).{" "}
            {s.closedAt ? (
              <>
                Closed <UtcTime at={s.closedAt} />: it never changes; charges that arrive later are in a later
                month, as adjustments.
              </>
            ) : (
              "Amounts may still change until the month is closed."
            )}
          </CardDescription>
          <div className="flex flex-wrap gap-2 pt-2">
            <a
              className={buttonVariants({ size: "sm" })}
              href={`${download}?format=pdf`}
              data-testid="statement-pdf"
            >
              Download PDF
            </a>
            <a
              className={buttonVariants({ size: "sm", variant: "outline" })}
              href={`${download}?format=csv`}
              data-testid="statement-csv"
            >
              Download CSV
            </a>
          </div>
        </CardHeader>
        <CardContent className="grid gap-2 text-sm sm:grid-cols-2 lg:grid-cols-3">
          {(
            [
              ["Opening balance", s.openingMicros, "statement-opening"],
              ["Credits", s.creditsMicros, "statement-credits"],
              ["Charges for calls", s.chargesMicros, "statement-charges"],
              ["Seat fees", s.seatFeesMicros, "statement-seat-fees"],
              ["Adjustments", s.adjustmentsMicros, "statement-adjustments"],
              ["Closing balance", s.closingMicros, "statement-closing"],
            ] as const
          ).map(([label, micros, testId]) => (
            <div key={label} className="rounded-md border p-3">
              <div className="text-muted-foreground">{label}</div>
              <ExactMoney micros={micros} className="text-base font-semibold" testId={testId} />
            </div>
          ))}
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle>Credits</CardTitle>
          <CardDescription>Money added this month, each with its receipt.</CardDescription>
        </CardHeader>
        <CardContent>
          <Lines
            columns={["Date (UTC)", "Method", "Description", "Receipt", "Amount"]}
            empty="No credits this month."
            count={s.credits.length}
          >
            {s.credits.map((c) => (
              <TableRow
                key={`${c.receipt ?? ""}:${c.at.toISOString()}:${c.amountMicros}`}
                data-testid="statement-credit"
              >
                <TableCell>
                  <UtcTime at={c.at} />
                </TableCell>
                <TableCell>{CREDIT_METHOD_LABEL[c.method]}</TableCell>
                <TableCell className="max-w-72 truncate" title={c.description}>
                  {c.description}
                </TableCell>
                <TableCell>
                  {c.receipt ? (
                    <Link
                      className="font-mono text-xs underline-offset-4 hover:underline"
                      href={`/receipts/${c.receipt}`}
                    >
                      {c.receipt}
                    </Link>
                  ) : (
                    "—"
                  )}
                </TableCell>
                <TableCell className="text-right">
                  <ExactMoney micros={c.amountMicros} sign />
                </TableCell>
              </TableRow>
            ))}
          </Lines>
          <Total label="Total credits" micros={s.creditsMicros} testId="statement-credits-total" />
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle>Charges for calls</CardTitle>
          <CardDescription>
            {s.calls.toLocaleString("en-US")} calls made this month, grouped three ways (each sums to the
            total).
          </CardDescription>
        </CardHeader>
        <CardContent className="grid min-w-0 gap-6">
          <div className="grid min-w-0 gap-6 xl:grid-cols-2">
            <Groups title="By model" groups={s.chargesByModel} testId="charges-by-model" />
            <Groups title="By key" groups={s.chargesByKey} testId="charges-by-key" />
          </div>
          {s.holderKind === "organization" ? (
            <Groups title="By member" groups={s.chargesByMember} testId="charges-by-member" />
          ) : null}
          <Total label="Total charges" micros={s.chargesMicros} testId="statement-charges-total" />
        </CardContent>
      </Card>

      {s.holderKind === "organization" || s.seatFees.length ? (
        <Card>
          <CardHeader>
            <CardTitle>Seat fees</CardTitle>
          </CardHeader>
          <CardContent>
            <Lines
              columns={["Paid (UTC)", "Member", "Seat month", "Fee"]}
              empty="No seat fees this month."
              count={s.seatFees.length}
            >
              {s.seatFees.map((f) => (
                <TableRow key={`${f.member}:${f.seatMonth}:${f.at.toISOString()}`}>
                  <TableCell>
                    <UtcTime at={f.at} />
                  </TableCell>
                  <TableCell>{f.member}</TableCell>
                  <TableCell className="tabular-nums">{f.seatMonth}</TableCell>
                  <TableCell className="text-right">
                    <ExactMoney micros={f.amountMicros} />
                  </TableCell>
                </TableRow>
              ))}
            </Lines>
            <Total label="Total seat fees" micros={s.seatFeesMicros} testId="statement-seat-fees-total" />
          </CardContent>
        </Card>
      ) : null}

      <Card>
        <CardHeader>
          <CardTitle>Adjustments</CardTitle>
          <CardDescription>
            Corrections, card refunds and disputes, and charges for calls of an earlier month that were
            settled after it ended (the month is named).
          </CardDescription>
        </CardHeader>
        <CardContent>
          <Lines
            columns={["Date (UTC)", "Description", "For", "Amount"]}
            empty="No adjustments this month."
            count={s.adjustments.length}
          >
            {s.adjustments.map((a) => (
              <TableRow
                key={`${a.kind}:${a.originalMonth}:${a.at.toISOString()}:${a.amountMicros}`}
                data-testid="statement-adjustment"
              >
                <TableCell>
                  <UtcTime at={a.at} />
                </TableCell>
                <TableCell className="max-w-96 truncate" title={a.description}>
                  {a.description}
                </TableCell>
                <TableCell className="tabular-nums">{a.originalMonth ?? "—"}</TableCell>
                <TableCell className="text-right">
                  <ExactMoney micros={a.amountMicros} sign />
                </TableCell>
              </TableRow>
            ))}
          </Lines>
          <Total
            label="Total adjustments"
            micros={s.adjustmentsMicros}
            testId="statement-adjustments-total"
          />
        </CardContent>
      </Card>
    </div>
  );
}
