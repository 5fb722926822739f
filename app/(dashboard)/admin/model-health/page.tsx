import type { Metadata } from "next";
import { ModelHealthPanel } from "@/components/routing/model-health";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Model health" };

export default async function ModelHealthPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader
        title="Model health"
        description="Error rate, latency and time to first token per model group, and the models routing rests now."
      />
      <ModelHealthPanel />
    </>
  );
}
