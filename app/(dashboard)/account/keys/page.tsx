import type { Metadata } from "next";
import { Suspense } from "react";
import { KeysPanel } from "@/components/keys/keys-panel";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";
import { gatewayPublicUrl } from "@/lib/config";

export const metadata: Metadata = { title: "API keys" };

export default async function MyKeysPage() {
  await requireUser();
  const url = gatewayPublicUrl();
  return (
    <>
      <PageHeader
        title="API keys"
        description={`Your keys for the gateway at ${url}. A secret is shown once, when the key is created.`}
      />
      <Suspense>
        <KeysPanel admin={false} gatewayUrl={url} />
      </Suspense>
    </>
  );
}
