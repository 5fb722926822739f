import type { Metadata } from "next";
import { PageHeader } from "@/components/shell/page-header";
import { WebhooksPanel } from "@/components/webhooks/webhooks-panel";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Usage webhooks" };
export const dynamic = "force-dynamic";

/** The person's own usage webhooks: each charged call (and balance, top-up, key events) posted to their endpoints. */
export default async function MyWebhooksPage() {
  await requireUser();
  return (
    <>
      <PageHeader
        title="Usage webhooks"
        description="Your endpoints get a signed event for each call charged to your own account, with its units, price version, charge and ledger transaction."
      />
      <WebhooksPanel org={null} />
    </>
  );
}
