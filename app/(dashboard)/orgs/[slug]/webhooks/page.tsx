import type { Metadata } from "next";
import { OrgHeader } from "@/components/orgs/org-header";
import { Card, CardContent } from "@/components/ui/card";
import { WebhooksPanel } from "@/components/webhooks/webhooks-panel";
import { requireUser } from "@/lib/auth/current";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import { orgAllows } from "@/lib/orgs/access";
import { openOrgPage } from "../../page-org";

export const metadata: Metadata = { title: "Organization webhooks" };
export const dynamic = "force-dynamic";

/** The organization's usage webhooks: managed by its owners and admins (the webhooks verb). */
export default async function OrgWebhooksPage({ params }: { params: Promise<{ slug: string }> }) {
  const user = await requireUser();
  const { page, actor } = await openOrgPage(user, (await params).slug);
  const { org, can } = page;
  const allowed = orgAllows(org, "webhooks", actsAsPlatformAdmin(actor));
  return (
    <>
      <OrgHeader
        org={org}
        can={can}
        tab="webhooks"
        title="Webhooks"
        description={`Signed events to ${org.name}'s endpoints for each call charged to it (every member's), low balances, top-ups and revoked keys.`}
      />
      {allowed ? (
        <WebhooksPanel org={org.slug} />
      ) : (
        <Card data-testid="org-webhooks-none">
          <CardContent className="py-8 text-sm text-muted-foreground">
            Your role in {org.name} ({org.role}) does not manage webhooks: ask an owner or admin.
          </CardContent>
        </Card>
      )}
    </>
  );
}
