import type { Metadata } from "next";
import { KeysPanel } from "@/components/keys/keys-panel";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";
import { gatewayPublicUrl } from "@/lib/config";

export const metadata: Metadata = { title: "All API keys" };

export default async function AdminKeysPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader
        title="API keys"
        description="Every key issued by Tollgate. Revoking or rotating takes effect at the gateway within seconds."
      />
      <KeysPanel admin gatewayUrl={gatewayPublicUrl()} />
    </>
  );
}
