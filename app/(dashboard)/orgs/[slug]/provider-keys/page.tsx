import type { Metadata } from "next";
import { OrgHeader } from "@/components/orgs/org-header";
import { ProviderKeysPanel } from "@/components/providers/provider-keys-panel";
import { requireUser } from "@/lib/auth/current";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import { orgAllows } from "@/lib/orgs/access";
import { openOrgPage } from "../../page-org";

export const metadata: Metadata = { title: "Organization provider keys" };
export const dynamic = "force-dynamic";

/** The organization's provider keys (BYOK): owners and admins change them (the credentials verb), members see them
 *  masked. */
export default async function OrgProviderKeysPage({ params }: { params: Promise<{ slug: string }> }) {
  const user = await requireUser();
  const { page, actor } = await openOrgPage(user, (await params).slug);
  const { org, can } = page;
  return (
    <>
      <OrgHeader
        org={org}
        can={can}
        tab="provider-keys"
        title="Provider keys"
        description={`Keys ${org.name} holds at model providers: every member's calls go out with them (a member's or a key's own comes first), billed the platform fee.`}
      />
      <ProviderKeysPanel
        org={org.slug}
        canChange={orgAllows(org, "credentials", actsAsPlatformAdmin(actor))}
      />
    </>
  );
}
