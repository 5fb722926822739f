import type { Metadata } from "next";
import { PageHeader } from "@/components/shell/page-header";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent } from "@/components/ui/card";
import Link from "@/components/ui/link";
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
import { requireUser } from "@/lib/auth/current";
import { db } from "@/lib/db";
import { listAllEndpoints } from "@/lib/webhooks/endpoints";

export const metadata: Metadata = { title: "Customer webhooks" };
export const dynamic = "force-dynamic";

/** Every customer webhook endpoint: whose, where, which events, whether it is failing or was switched off. */
export default async function AdminWebhooksPage() {
  const user = await requireUser("admin");
  const endpoints = await listAllEndpoints(db(), { userId: user.userId, kind: "user", role: user.role });
  return (
    <>
      <PageHeader
        title="Customer webhooks"
        description="Endpoints people and organizations registered for their usage events, newest first. Their owners manage them; an admin may open an organization's Webhooks tab."
      />
      <Card>
        <CardContent>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Owner</TableHead>
                <TableHead>URL</TableHead>
                <TableHead>Events</TableHead>
                <TableHead>Status</TableHead>
                <TableHead className="text-right">Pending</TableHead>
                <TableHead>Created</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {!endpoints.length ? <TableMessage colSpan={6}>No endpoints yet.</TableMessage> : null}
              {endpoints.map((e) => (
                <TableRow key={e.id}>
                  <TableCell>
                    {e.organizationSlug ? (
                      <Link
                        className="underline underline-offset-2"
                        href={`/orgs/${e.organizationSlug}/webhooks`}
                      >
                        {e.organizationSlug}
                      </Link>
                    ) : (
                      <TableTruncate text={e.ownerEmail ?? ""} className="max-w-56" />
                    )}
                  </TableCell>
                  <TableCell>
                    <TableTruncate text={e.url} className="max-w-72 font-mono text-xs" />
                  </TableCell>
                  <TableCell className="text-xs">{e.eventTypes.join(", ")}</TableCell>
                  <TableCell>
                    {!e.enabled ? (
                      <Badge variant="destructive" title={e.disabledReason ?? undefined}>
                        off
                      </Badge>
                    ) : e.failureCount > 0 ? (
                      <Badge variant="warning">failing ({e.failureCount})</Badge>
                    ) : (
                      <Badge variant="success">on</Badge>
                    )}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{e.pending}</TableCell>
                  <TableTimeCell iso={e.createdAt.toISOString()} />
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </CardContent>
      </Card>
    </>
  );
}
