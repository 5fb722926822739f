import type { Metadata } from "next";
import { MembersPanel } from "@/components/orgs/members-panel";
import { OrgHeader } from "@/components/orgs/org-header";
import { requireUser } from "@/lib/auth/current";
import { db } from "@/lib/db";
import { listInvitations } from "@/lib/orgs/invitations";
import { listMembers } from "@/lib/orgs/members";
import { asJson } from "@/lib/orgs/overview";
import { openOrgPage } from "../../page-org";

export const metadata: Metadata = { title: "Members" };
export const dynamic = "force-dynamic";

/** Members with their roles, caps and spend; invitations; role changes, removal, leaving, transfer. */
export default async function OrgMembersPage({ params }: { params: Promise<{ slug: string }> }) {
  const user = await requireUser();
  const { page, actor } = await openOrgPage(user, (await params).slug);
  const [members, invitations] = await Promise.all([
    listMembers(db(), actor, page.org.id),
    page.can.manageMembers ? listInvitations(db(), actor, page.org.id) : Promise.resolve([]),
  ]);
  return (
    <>
      <OrgHeader
        org={page.org}
        can={page.can}
        tab="members"
        title="Members"
        description="Who spends the organization's money, in what role, within which caps."
      />
      <MembersPanel
        org={page.org.slug}
        orgName={page.org.name}
        members={asJson(members)}
        invitations={asJson(invitations)}
        can={page.can}
        me={user.userId}
        myRole={page.org.role}
      />
    </>
  );
}
