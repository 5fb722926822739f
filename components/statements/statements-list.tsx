import { Badge } from "@/components/ui/badge";
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
import { monthName } from "@/lib/statements/compute";
import type { StatementSummary } from "@/lib/statements/schemas";
import { ExactMoney } from "./amount";

/** An account's monthly statements, newest first: closed ones numbered, the others open (not final). */
export function StatementsList({
  items,
  basePath,
  apiPath,
}: {
  items: StatementSummary[];
  /** The statement pages' path (…/statements), each month under it. */
  basePath: string;
  /** The statement API's path, for the downloads. */
  apiPath: string;
}) {
  return (
    <Card data-testid="statements-list">
      <CardHeader>
        <CardTitle>Monthly statements</CardTitle>
        <CardDescription>
          One per UTC month. A month is closed and numbered after it ends and its last day is settled; until
          then its statement is open and its amounts may still change.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>Month</TableHead>
              <TableHead>Statement</TableHead>
              <TableHead className="text-right">Opening</TableHead>
              <TableHead className="text-right">Closing</TableHead>
              <TableHead>Download</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {items.length === 0 ? <TableMessage colSpan={5}>No statements yet.</TableMessage> : null}
            {items.map((s) => (
              <TableRow key={s.month} data-testid="statement-row" data-month={s.month}>
                <TableCell>
                  <Link
                    className="font-medium underline-offset-4 hover:underline"
                    href={`${basePath}?month=${s.month}`}
                  >
                    {monthName(s.month)}
                  </Link>
                </TableCell>
                <TableCell>
                  {s.number ? (
                    <span className="font-mono text-xs">{s.number}</span>
                  ) : (
                    <Badge variant="outline">open · not final</Badge>
                  )}
                </TableCell>
                <TableCell className="text-right">
                  <ExactMoney micros={s.openingMicros} />
                </TableCell>
                <TableCell className="text-right">
                  <ExactMoney micros={s.closingMicros} />
                </TableCell>
                <TableCell className="space-x-3 text-sm">
                  <a className="underline-offset-4 hover:underline" href={`${apiPath}/${s.month}?format=pdf`}>
                    PDF
                  </a>
                  <a className="underline-offset-4 hover:underline" href={`${apiPath}/${s.month}?format=csv`}>
                    CSV
                  </a>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}
