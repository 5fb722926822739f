import { Money } from "@/components/billing/money";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
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
import { UtcTime } from "@/components/ui/utc-time";
import type { SeatCharges } from "@/lib/orgs/seats";

/** Seat fees per member and UTC month, paid or due, with what the plan charges a seat. */
export function SeatChargesCard({ seats }: { seats: SeatCharges }) {
  return (
    <Card data-testid="seat-charges">
      <CardHeader>
        <CardTitle>Seat fees</CardTitle>
        <CardDescription>
          {seats.seatPriceMicros !== null && seats.seatPriceMicros > 0n ? (
            <>
              The {seats.planName} plan charges <Money micros={seats.seatPriceMicros} /> a member a month,
              when the UTC month starts (a member who joins later pays the days left).
            </>
          ) : (
            "The organization's plan charges no seat fee."
          )}{" "}
          {seats.dueMicros > 0n ? (
            <span className="font-medium text-destructive" data-testid="seats-due">
              <Money micros={seats.dueMicros} /> is due: calls are refused until a top-up pays it.
            </span>
          ) : null}
        </CardDescription>
      </CardHeader>
      <CardContent>
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>Month</TableHead>
              <TableHead>Member</TableHead>
              <TableHead className="text-right">Fee</TableHead>
              <TableHead>Status</TableHead>
              <TableHead>Charged · paid (UTC)</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {seats.items.length === 0 ? (
              <TableMessage colSpan={5}>No seat fees charged yet.</TableMessage>
            ) : null}
            {seats.items.map((s) => (
              <TableRow key={`${s.userId}:${s.month}`} data-testid="seat-row">
                <TableCell className="tabular-nums">{s.month.slice(0, 7)}</TableCell>
                <TableCell>
                  <TableTruncate text={s.email} className="max-w-64" />
                </TableCell>
                <TableCell className="text-right tabular-nums">
                  <Money micros={s.amountMicros} />
                </TableCell>
                <TableCell>
                  <Badge variant={s.status === "paid" ? "success" : "destructive"}>{s.status}</Badge>
                </TableCell>
                <TableCell className="text-xs text-muted-foreground">
                  <UtcTime at={s.chargedAt} />
                  {s.paidAt ? (
                    <>
                      {" · "}
                      <UtcTime at={s.paidAt} />
                    </>
                  ) : null}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}
