import type { Metadata } from "next";
import { PolicyPanel } from "@/components/policies/policy-panel";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Guardrails & cache" };
export const dynamic = "force-dynamic";

/** The person's own response cache and PII guardrails: for calls paid from their own account (not an organization's). */
export default async function MyGuardrailsPage() {
  await requireUser();
  return (
    <>
      <PageHeader
        title="Guardrails & cache"
        description="For calls paid from your own account with your own keys: personal data masked or refused before a provider sees it, and repeated requests answered from your own cache. An organization's keys follow the organization's settings."
      />
      <PolicyPanel scope={{ kind: "own" }} />
    </>
  );
}
