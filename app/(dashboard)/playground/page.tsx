import type { Metadata } from "next";
import { Playground } from "@/components/playground/playground";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";
import { gatewayPublicUrl } from "@/lib/config";

export const metadata: Metadata = { title: "Playground" };

export default async function PlaygroundPage() {
  await requireUser();
  return (
    <>
      <PageHeader
        title="Playground"
        description="Chat with any model in the catalog, streamed through the gateway."
      />
      <Playground gatewayUrl={gatewayPublicUrl()} />
    </>
  );
}
