import type { Metadata } from "next";
import { OrgHeader } from "@/components/orgs/org-header";
import { PolicyPanel } from "@/components/policies/policy-panel";
import { requireUser } from "@/lib/auth/current";
import { openOrgPage } from "../../page-org";

export const metadata: Metadata = { title: "Organization guardrails & cache" };
export const dynamic = "force-dynamic";

/** The organization's response cache and PII guardrails: every member sees them, owners and admins change them. */
export default async function OrgGuardrailsPage({ params }: { params: Promise<{ slug: string }> }) {
  const user = await requireUser();
  const { page } = await openOrgPage(user, (await params).slug);
  const { org, can } = page;
  return (
    <>
      <OrgHeader
        org={org}
        can={can}
        tab="guardrails"
        title="Guardrails & cache"
        description={`What happens to every call paid by ${org.name}, whichever member's key makes it: personal data masked or refused before a provider sees it, and repeated requests answered from ${org.name}'s own cache.`}
      />
      <PolicyPanel scope={{ kind: "org", slug: org.slug }} />
    </>
  );
}
