import type { Metadata } from "next";
import { ByokLine } from "@/components/analytics/byok-section";
import { CacheLine } from "@/components/analytics/cache-section";
import { OrgHeader } from "@/components/orgs/org-header";
import { OrgOverview } from "@/components/orgs/overview";
import { requireUser } from "@/lib/auth/current";
import { db } from "@/lib/db";
import { orgSpend } from "@/lib/orgs/overview";
import { openOrgPage } from "../page-org";

export const metadata: Metadata = { title: "Organization" };
export const dynamic = "force-dynamic";

/** An organization's overview: balance, what blocks calls, spend by member, key and model. */
export default async function OrgOverviewPage({ params }: { params: Promise<{ slug: string }> }) {
  const user = await requireUser();
  const { page, actor } = await openOrgPage(user, (await params).slug);
  const spend = await orgSpend(db(), actor, page);
  // A platform admin reads any organization through the platform's analytics (they need not be a member); everyone
  // else through their own view of it (what their role may see).
  const analytics = user.role === "admin" ? "/api/v1" : "/api/v1/me";
  return (
    <>
      <OrgHeader
        org={page.org}
        can={page.can}
        tab="overview"
        description="The organization's shared balance and where it went."
      />
      <OrgOverview page={page} spend={spend} />
      <div className="mt-4">
        <CacheLine
          base={analytics}
          filters={{ org: page.org.slug }}
          label={`Response cache, last 7 days (${page.can.seeAllUsage ? "every member's calls" : "your calls"})`}
        />
        <ByokLine
          base={analytics}
          filters={{ org: page.org.slug }}
          label={`Own provider keys (BYOK), last 7 days (${page.can.seeAllUsage ? "every member's calls" : "your calls"})`}
        />
      </div>
    </>
  );
}
