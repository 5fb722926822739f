import type { Metadata } from "next";
import { ModelsPanel } from "@/components/models/models-panel";
import { RoutingPanel } from "@/components/routing/routing-panel";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";
import { config } from "@/lib/config";

export const metadata: Metadata = { title: "Models" };

export default async function ModelsPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader title="Models" description="The catalog beside what the LiteLLM gateway serves live." />
      <ModelsPanel ttlSeconds={config().MODEL_INFO_TTL_SECONDS} />
      <div className="mt-6">
        <RoutingPanel />
      </div>
    </>
  );
}
