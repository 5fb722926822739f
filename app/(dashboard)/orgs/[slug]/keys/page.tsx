import type { Metadata } from "next";
import { Suspense } from "react";
import { KeysPanel } from "@/components/keys/keys-panel";
import { OrgHeader } from "@/components/orgs/org-header";
import { Card, CardContent } from "@/components/ui/card";
import { requireUser } from "@/lib/auth/current";
import { openOrgPage } from "../../page-org";

export const metadata: Metadata = { title: "Organization keys" };
export const dynamic = "force-dynamic";

/** The organization's keys: every member's (with who made each) for owners and admins, one's own otherwise. */
export default async function OrgKeysPage({ params }: { params: Promise<{ slug: string }> }) {
  const user = await requireUser();
  const { page } = await openOrgPage(user, (await params).slug);
  const { org, can } = page;
  return (
    <>
      <OrgHeader
        org={org}
        can={can}
        tab="keys"
        title="Keys"
        description={
          can.manageKeys
            ? `Every member's keys of ${org.name}: their calls are paid by ${org.name}, within the maker's caps. A secret is shown once.`
            : `Your keys of ${org.name}: their calls are paid by ${org.name}, within your caps. A secret is shown once.`
        }
      />
      {can.ownKeys ? (
        <Suspense>
          <KeysPanel
            admin={false}
            org={{
              slug: org.slug,
              name: org.name,
              everyone: true,
              viewer: {
                userId: user.userId,
                platformAdmin: can.platformAdmin,
                owner: org.role === "owner",
                manageKeys: can.manageKeys,
                ownKeys: can.ownKeys,
              },
            }}
          />
        </Suspense>
      ) : (
        <Card data-testid="org-keys-none">
          <CardContent className="py-8 text-sm text-muted-foreground">
            Your role in {org.name} ({org.role}) tops up and reads statements; it has no keys. Ask an owner or
            admin for the member role to call the gateway with {org.name}'s money.
          </CardContent>
        </Card>
      )}
    </>
  );
}
