import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { OrgStatusControl } from "@/components/orgs/admin-controls";
import { OrgHeader } from "@/components/orgs/org-header";
import { OrgOverview } from "@/components/orgs/overview";
import { PlanSettings } from "@/components/orgs/settings-form";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy-button";
import Link from "@/components/ui/link";
import { requireUser } from "@/lib/auth/current";
import type { Actor } from "@/lib/auth/types";
import { db } from "@/lib/db";
import { AppError } from "@/lib/http/errors";
import { asJson, orgPage, orgSpend } from "@/lib/orgs/overview";
import { listPlans } from "@/lib/plans/manage";

export const metadata: Metadata = { title: "Organization" };
export const dynamic = "force-dynamic";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An organization as its owner sees it, plus what only platform admins change: its status and plan. */
export default async function AdminOrganizationPage({ params }: { params: Promise<{ id: string }> }) {
  const user = await requireUser("admin");
  const { id } = await params;
  if (!UUID.test(id)) notFound();
  const actor: Actor = { userId: user.userId, kind: "user", role: user.role };
  const page = await orgPage(db(), actor, id).catch((error) => {
    if (error instanceof AppError && error.code === "not_found") notFound();
    throw error;
  });
  const [spend, plans] = await Promise.all([orgSpend(db(), actor, page), listPlans(db(), actor)]);
  const { org } = page;
  const base = `/orgs/${org.slug}`;
  return (
    <>
      <OrgHeader
        org={org}
        can={page.can}
        tab="overview"
        admin
        description={`Owned by ${org.ownerEmail ?? "nobody"} · ${org.memberCount} member${org.memberCount === 1 ? "" : "s"}.`}
      />
      <div className="grid grid-cols-1 gap-6">
        <div className="grid grid-cols-1 gap-6 lg:grid-cols-3">
          <OrgStatusControl slug={org.slug} name={org.name} status={org.status} />
          <PlanSettings
            org={asJson(org)}
            plans={plans.map((p) => ({ id: p.id, name: p.name, seatPriceMicros: asJson(p.seatPriceMicros) }))}
          />
          <Card>
            <CardHeader>
              <CardTitle>Manage</CardTitle>
            </CardHeader>
            <CardContent className="grid gap-2 text-sm">
              <span className="flex min-w-0 items-center gap-1">
                <span className="text-muted-foreground">Id</span>
                <span className="truncate font-mono text-xs" title={org.id}>
                  {org.id}
                </span>
                <CopyButton text={org.id} label="Copy organization id" />
              </span>
              <nav aria-label={`${org.name} pages`} className="flex flex-wrap gap-x-4 gap-y-1">
                <Link className="text-primary hover:underline" href={`${base}/members`}>
                  Members
                </Link>
                <Link className="text-primary hover:underline" href={`${base}/keys`}>
                  Keys
                </Link>
                <Link className="text-primary hover:underline" href={`${base}/billing`}>
                  Billing
                </Link>
                <Link className="text-primary hover:underline" href={`${base}/settings`}>
                  Settings
                </Link>
                <Link className="text-primary hover:underline" href={`/admin/accounts/${org.account.id}`}>
                  Account &amp; credits
                </Link>
                <Link className="text-primary hover:underline" href={`/admin/requests?org=${org.slug}`}>
                  Calls
                </Link>
              </nav>
            </CardContent>
          </Card>
        </div>
        <OrgOverview page={page} spend={spend} />
      </div>
    </>
  );
}
