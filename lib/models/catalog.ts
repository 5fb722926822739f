import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { isAdmin } from "@/lib/auth/visibility";
import { type Db, inTransaction } from "@/lib/db/client";
import { conflict, notFound } from "@/lib/http/errors";
import { assertAdmin } from "@/lib/users/assert-admin";
import type { Model, ModelInput } from "./types";

const columns = (db: Db) => db`
  id, public_name as "publicName", litellm_model_group as "litellmModelGroup", provider, description,
  context_window as "contextWindow", max_output_tokens as "maxOutputTokens", enabled, free,
  created_at as "createdAt", updated_at as "updatedAt"`;

/** The catalog. Admins see all; a developer sees the enabled models their plan allows (what their keys can call). */
export async function listModels(db: Db, actor: Actor): Promise<Model[]> {
  const all = isAdmin(actor);
  return db<Model[]>`
    select ${columns(db)} from models
    where ${all}
       or (enabled and model_allowed(public_name, '{}', (select p.allowed_models from users u
                                                         join plans p on p.id = u.plan_id
                                                         where u.id = ${actor.userId})))
    order by public_name`;
}

export async function createModel(db: Db, actor: Actor, input: ModelInput): Promise<Model> {
  assertAdmin(actor);
  return inTransaction(db, async (tx) => {
    const [model] = await tx<Model[]>`
      insert into models (public_name, litellm_model_group, provider, description, context_window, max_output_tokens, enabled,
                          free)
      values (${input.publicName}, ${input.litellmModelGroup}, ${input.provider}, ${input.description},
              ${input.contextWindow}, ${input.maxOutputTokens}, ${input.enabled}, ${input.free})
      on conflict (public_name) do nothing
      returning ${columns(tx)}`;
    if (!model) throw conflict(`A model named ${input.publicName} already exists.`);
    await recordAudit(tx, actor, {
      action: "model.create",
      targetType: "model",
      targetId: model.id,
      after: model,
    });
    return model;
  });
}

export async function updateModel(
  db: Db,
  actor: Actor,
  id: string,
  input: Partial<Omit<ModelInput, "publicName">>,
): Promise<Model> {
  assertAdmin(actor);
  return inTransaction(db, async (tx) => {
    const [before] = await tx<Model[]>`select ${columns(tx)} from models where id = ${id} for update`;
    if (!before) throw notFound("Model");
    const [after] = await tx<Model[]>`
      update models set
        litellm_model_group = ${input.litellmModelGroup ?? before.litellmModelGroup},
        provider = ${input.provider ?? before.provider},
        description = ${input.description ?? before.description},
        context_window = ${input.contextWindow ?? before.contextWindow},
        max_output_tokens = ${input.maxOutputTokens ?? before.maxOutputTokens},
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
