import "server-only";
import type { Actor } from "@/lib/auth/types";
import { listPriceVersions } from "@/lib/billing/prices";
import type { Db } from "@/lib/db/client";
import { listModels } from "@/lib/models/catalog";
import { type LiveDeployment, liveModelInfo } from "@/lib/models/live";
import type { CatalogModel } from "@/lib/models/types";
import { orgFor } from "@/lib/orgs/access";

/** A model the playground offers, with its sell prices in force (micro-USD per million tokens). */
export interface PlaygroundModel {
  name: string;
  description: string;
  contextWindow: number;
  inputPriceMicros: bigint;
  outputPriceMicros: bigint;
  /**
   * How the gateway serves it: "chat" natively, or "completions" for a legacy-completions model (LiteLLM's
   * text-completion providers) that the gateway adapts to chat.
   */
  api: "chat" | "completions";
}

/** A legacy-completions deployment: LiteLLM's text-completion providers (text-completion-openai/…, …-codestral). */
const legacy = (d: LiveDeployment) =>
  Boolean(d.provider?.startsWith("text-completion") || d.upstreamModel?.startsWith("text-completion"));

type OfferedModel = Pick<
  CatalogModel,
  "id" | "publicName" | "description" | "contextWindow" | "litellmModelGroup" | "enabled" | "createdAt"
>;

/**
 * The enabled models an organization's playground key may call: key_models' rule (model_allowed over the plan
 * plan_of picks, the organization's own list narrowing it) for a key with no list of its own, as the playground key
 * is made. The same for every member and for a platform admin: the key, not the person, is what the gateway checks.
 */
function organizationModels(db: Db, accountId: string) {
  return db<OfferedModel[]>`
    select m.id, m.public_name as "publicName", m.description, m.context_window as "contextWindow",
           m.litellm_model_group as "litellmModelGroup", m.enabled, m.created_at as "createdAt"
    from accounts a
    left join plans p on p.id = plan_of(a.organization_id, a.plan_id, null)
    join models m on m.enabled and model_allowed(m.public_name, '{}', p.allowed_models, a.allowed_models)
    where a.id = ${accountId}
    order by m.public_name`;
}

/**
 * The models the actor may chat with in the playground (the catalog their plan allows; in an organization, slug or
 * id, what its playground key may call, for a role that uses it: 404 outsiders, 403 billing), in catalog order: those
 * whose price in force bills chat and sells output (embedding, image, speech and transcription models are not chat
 * models), each marked chat or legacy completions by the gateway's live model list (unknown to the gateway, or the
 * gateway down: chat). The
 * default is the cheapest chat model, the one added first among equals; a legacy model only when nothing else is.
 */
export async function playgroundModels(
  db: Db,
  actor: Actor,
  org?: string | null,
): Promise<{ items: PlaygroundModel[]; defaultModel: string | null }> {
  const organization = org != null ? await orgFor(db, actor, org, "spend") : null;
  const [models, prices, live, chatSold] = await Promise.all([
    organization ? organizationModels(db, organization.accountId) : listModels(db, actor),
    listPriceVersions(db, actor),
    liveModelInfo(),
    // Sold for chat by the price in force (billed_kinds, clause 44), with output to sell: not an embedding model.
    db<{ id: string }[]>`
      select m.id from models m cross join lateral price_version_at(m.id, tollgate_now()) pv
      where 'chat' = any(billed_kinds(pv, false)) and pv.output_price_micros > 0`,
  ]);
  const chat = new Set(chatSold.map((r) => r.id));
  const candidates = models.flatMap((m) => {
    const p = prices.find((v) => v.modelId === m.id && v.current);
    if (!m.enabled || !p || !chat.has(m.id)) return [];
    const deployments = live.deployments.filter((d) => d.modelGroup === m.litellmModelGroup);
    const api: PlaygroundModel["api"] =
      deployments.length > 0 && deployments.every(legacy) ? "completions" : "chat";
    return [
      {
        model: {
          name: m.publicName,
          description: m.description,
          contextWindow: m.contextWindow,
          inputPriceMicros: p.inputPriceMicros,
          outputPriceMicros: p.outputPriceMicros,
          api,
        },
        createdAt: m.createdAt,
      },
    ];
  });
  const preference = [...candidates].sort(
    (a, b) =>
      Number(a.model.api !== "chat") - Number(b.model.api !== "chat") ||
      Number(a.model.outputPriceMicros - b.model.outputPriceMicros) ||
      Number(a.model.inputPriceMicros - b.model.inputPriceMicros) ||
      a.createdAt.getTime() - b.createdAt.getTime(),
  );
  return { items: candidates.map((c) => c.model), defaultModel: preference[0]?.model.name ?? null };
}
