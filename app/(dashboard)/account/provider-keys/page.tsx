import type { Metadata } from "next";
import { ProviderKeysPanel } from "@/components/providers/provider-keys-panel";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Provider keys" };
export const dynamic = "force-dynamic";

/** The person's own provider keys (BYOK): used for their calls, their organization keys' too, before the platform's. */
export default async function MyProviderKeysPage() {
  await requireUser();
  return (
    <>
      <PageHeader
        title="Provider keys"
        description="Bring your own OpenAI, Anthropic, Azure OpenAI, Gemini or OpenAI-compatible key: your calls go out with it, and Tollgate charges its platform fee instead of the token price."
      />
      <ProviderKeysPanel org={null} canChange />
    </>
  );
}
