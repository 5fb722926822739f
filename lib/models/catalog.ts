import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { isAdmin } from "@/lib/auth/visibility";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, conflict, notFound } from "@/lib/http/errors";
import { assertAdmin } from "@/lib/users/assert-admin";
import { kindsOfMode } from "./kinds";
import { gatewayServes, type LiveModelInfo, liveModelInfo } from "./live";
import type { CreateModelBody, UpdateModelBody } from "./schemas";
import type { CatalogModel, Model } from "./types";

const columns = (db: Db) => db`
  id, public_name as "publicName", litellm_model_group as "litellmModelGroup", provider, description,
  context_window as "contextWindow", max_output_tokens as "maxOutputTokens", enabled, free,
  created_at as "createdAt", updated_at as "updatedAt"`;

/** The models the actor may see: admins all; a developer the enabled models their plan allows (what keys can call). */
const visibleTo = (db: Db, actor: Actor) => db`
  (${isAdmin(actor)}
   or (m.enabled and model_allowed(m.public_name, '{}', (select p.allowed_models from users u
                                                          join plans p on p.id = u.plan_id
                                                          where u.id = ${actor.userId}))))`;

// The kinds the gateway serves the model for: those its price in force bills (billed_kinds, clause 44), none unpriced.
const catalogColumns = (db: Db) => db`
  m.id, m.public_name as "publicName", m.litellm_model_group as "litellmModelGroup", m.provider, m.description,
  m.context_window as "contextWindow", m.max_output_tokens as "maxOutputTokens", m.enabled, m.free,
  m.created_at as "createdAt", m.updated_at as "updatedAt",
  coalesce((select billed_kinds(pv, m.free) from price_version_at(m.id, tollgate_now()) pv), '{}') as kinds,
  (select pv.cache_hit_bps from price_version_at(m.id, tollgate_now()) pv) as "cacheHitBps"`;

/** The catalog. Admins see all; a developer sees the enabled models their plan allows (what their keys can call). */
export async function listModels(db: Db, actor: Actor): Promise<CatalogModel[]> {
  return db<CatalogModel[]>`
    select ${catalogColumns(db)} from models m where ${visibleTo(db, actor)} order by m.public_name`;
}

/**
 * The kinds a model is served for, narrowed to what its deployments are (LiteLLM's model_info.mode): a price per
 * input token bills chat as well as embeddings (billed_kinds), but an embedding deployment answers no chat. With
 * the gateway unreachable, or the group not served, the price's kinds stand.
 */
export function narrowKinds(model: CatalogModel, live: LiveModelInfo): CatalogModel {
  const deployments = live.deployments.filter((d) => d.modelGroup === model.litellmModelGroup);
  if (!live.reachable || deployments.length === 0) return model;
  const served = new Set(deployments.flatMap((d) => kindsOfMode(d.mode)));
  return { ...model, kinds: model.kinds.filter((k) => served.has(k)) };
}

/** The catalog as pages show it: listModels with each model's kinds narrowed by the gateway's (cached) view. */
export async function catalogFor(db: Db, actor: Actor): Promise<CatalogModel[]> {
  const [items, live] = await Promise.all([listModels(db, actor), liveModelInfo()]);
  return items.map((m) => narrowKinds(m, live));
}

/** One catalog entry, if the actor may see it (else not found: a developer cannot tell hidden from missing). */
export async function getModel(db: Db, actor: Actor, id: string): Promise<CatalogModel> {
  const [model] = await db<CatalogModel[]>`
    select ${catalogColumns(db)} from models m where m.id = ${id} and ${visibleTo(db, actor)}`;
  if (!model) throw notFound("Model");
  return narrowKinds(model, await liveModelInfo());
}

const invalid = (path: string, message: string, sentence: string) =>
  new AppError("validation_failed", sentence, { issues: [{ path, message }] });

/**
 * Adds a model to the catalog once the gateway says it serves its group (LiteLLM's live model list): a group it
 * does not serve is refused, since every call to it would fail. When the gateway cannot be asked, the admin may
 * save anyway by saying so (skipGatewayCheck); the audit entry records which check the model passed.
 */
export async function createModel(db: Db, actor: Actor, input: CreateModelBody): Promise<Model> {
  assertAdmin(actor);
  const { skipGatewayCheck, ...fields } = input;
  const { answer, info } = await gatewayServes(fields.litellmModelGroup);
  if (answer === "not served") {
    throw invalid(
      "litellmModelGroup",
      "the gateway does not serve this model group",
      `The gateway does not serve a model group named ${fields.litellmModelGroup}: add it to LiteLLM's config first.`,
    );
  }
  if (answer === "unknown" && !skipGatewayCheck) {
    throw new AppError(
      "unavailable",
      `The gateway could not be reached (${info.error ?? "no answer"}) to check that it serves ${fields.litellmModelGroup}. Try again, or save without the check.`,
      { gateway: "unreachable" },
    );
  }
  // No output tokens (embeddings, images, audio): the window is the only bound, so it is the output's too.
  const maxOutputTokens = fields.maxOutputTokens ?? fields.contextWindow;
  return inTransaction(db, async (tx) => {
    // A virtual model (routing) already answers to this name: the gateway would route it, never serve the model.
    const [virtual] = await tx`select 1 from virtual_models where name = ${fields.publicName}`;
    if (virtual)
      throw conflict(
        `${fields.publicName} is a virtual model's name (Admin → Models → Routing): choose another.`,
      );
    const [model] = await tx<Model[]>`
      insert into models (public_name, litellm_model_group, provider, description, context_window, max_output_tokens, enabled,
                          free)
      values (${fields.publicName}, ${fields.litellmModelGroup}, ${fields.provider}, ${fields.description},
              ${fields.contextWindow}, ${maxOutputTokens}, ${fields.enabled}, ${fields.free})
      on conflict (public_name) do nothing
      returning ${columns(tx)}`;
    if (!model) throw conflict(`A model named ${fields.publicName} already exists.`);
    await recordAudit(tx, actor, {
      action: "model.create",
      targetType: "model",
      targetId: model.id,
      after: {
        ...model,
        gatewayCheck:
          answer === "served" ? "served by the gateway" : `not checked: ${info.error ?? "unreachable"}`,
      },
    });
    return model;
  });
}

export async function updateModel(db: Db, actor: Actor, id: string, input: UpdateModelBody): Promise<Model> {
  assertAdmin(actor);
  return inTransaction(db, async (tx) => {
    const [before] = await tx<Model[]>`select ${columns(tx)} from models where id = ${id} for update`;
    if (!before) throw notFound("Model");
    const contextWindow = input.contextWindow ?? before.contextWindow;
    const maxOutputTokens = input.maxOutputTokens ?? before.maxOutputTokens;
    if (maxOutputTokens > contextWindow) {
      throw invalid(
        input.maxOutputTokens === undefined ? "contextWindow" : "maxOutputTokens",
        "the maximum output must not exceed the context window",
        `The maximum output (${maxOutputTokens}) must not exceed the context window (${contextWindow}).`,
      );
    }
    const [after] = await tx<Model[]>`
      update models set
        provider = ${input.provider ?? before.provider},
        description = ${input.description ?? before.description},
        context_window = ${contextWindow},
        max_output_tokens = ${maxOutputTokens},
        enabled = ${input.enabled ?? before.enabled},
        free = ${input.free ?? before.free}
      where id = ${id}
      returning ${columns(tx)}`;
    const action =
      before.enabled !== after!.enabled
        ? after!.enabled
          ? "model.enable"
          : "model.disable"
        : "model.update";
    await recordAudit(tx, actor, { action, targetType: "model", targetId: id, before, after });
    return after!;
  });
}
