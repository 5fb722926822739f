import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { ModelPage } from "@/components/models/model-page";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";
import { gatewayPublicUrl } from "@/lib/config";
import { db } from "@/lib/db";
import { AppError } from "@/lib/http/errors";
import { getModel } from "@/lib/models/catalog";

export const metadata: Metadata = { title: "Model" };

/** One model as the signed-in person may call it: a developer sees only the enabled models their plan allows. */
export default async function ModelDetailPage({ params }: { params: Promise<{ id: string }> }) {
  const user = await requireUser();
  const { id } = await params;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) notFound();
  const model = await getModel(db(), { userId: user.userId, kind: "user", role: user.role }, id).catch(
    (e) => {
      if (e instanceof AppError && e.code === "not_found") return null;
      throw e;
    },
  );
  if (!model) notFound();
  return (
    <>
      <PageHeader
        title={model.publicName}
        description="What it costs per unit, its limits, how to call it, and your own calls to it."
      />
      <ModelPage model={JSON.parse(JSON.stringify(model))} gatewayUrl={gatewayPublicUrl()} />
    </>
  );
}
