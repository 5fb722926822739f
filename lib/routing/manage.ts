import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, conflict, notFound } from "@/lib/http/errors";
import { assertAdmin } from "@/lib/users/assert-admin";
import type { VirtualModel, VirtualModelInput } from "./schemas";

const columns = (db: Db) => db`
  v.id, v.name, v.strategy, v.enabled, v.description, v.updated_at as "updatedAt",
  coalesce((select jsonb_agg(jsonb_build_object('model', c.model, 'quality', c.quality)
                             order by c.quality desc, c.model)
            from virtual_model_candidates c where c.virtual_model_id = v.id), '[]') as candidates`;

/** Every virtual model, for admins (Admin → Models → Routing). */
export async function listVirtualModels(db: Db, actor: Actor): Promise<VirtualModel[]> {
  assertAdmin(actor);
  return db<VirtualModel[]>`select ${columns(db)} from virtual_models v order by v.name`;
}

async function getVirtualModel(db: Db, id: string): Promise<VirtualModel | null> {
  const [row] = await db<VirtualModel[]>`select ${columns(db)} from virtual_models v where v.id = ${id}`;
  return row ?? null;
}

const invalid = (path: string, message: string) =>
  new AppError("validation_failed", message, { issues: [{ path, message }] });

/** A virtual model's name is never a real model's (the gateway could not tell them apart); its candidates are. */
async function assertValid(db: Db, name: string | undefined, candidates: { model: string }[] | undefined) {
  if (name !== undefined) {
    const [real] = await db`select 1 from models where public_name = ${name}`;
    if (real)
      throw invalid("name", `${name} is a real model's name: a virtual model needs a name of its own.`);
  }
  if (candidates?.length) {
    const names = candidates.map((c) => c.model);
    const rows = await db<
      { public_name: string }[]
    >`select public_name from models where public_name in ${db(names)}`;
    const known = new Set(rows.map((r) => r.public_name));
    const unknown = names.filter((m) => !known.has(m));
    if (unknown.length) throw invalid("candidates", `Unknown model(s): ${unknown.join(", ")}`);
  }
}

async function nameTaken<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if ((error as { constraint_name?: string }).constraint_name === "virtual_models_name_key")
      throw conflict("A virtual model with this name already exists.");
    throw error;
  }
}

async function replaceCandidates(db: Db, id: string, candidates: { model: string; quality: number }[]) {
  await db`delete from virtual_model_candidates where virtual_model_id = ${id}`;
  await db`
    insert into virtual_model_candidates ${db(
      candidates.map((c) => ({ virtual_model_id: id, model: c.model, quality: c.quality })),
    )}`;
}

/** Defines a virtual model; keys that may call one of its candidates may call it within the auth cache TTL. */
export async function createVirtualModel(
  db: Db,
  actor: Actor,
  input: VirtualModelInput,
): Promise<VirtualModel> {
  assertAdmin(actor);
  return nameTaken(() =>
    inTransaction(db, async (tx) => {
      await assertValid(tx, input.name, input.candidates);
      const [row] = await tx<{ id: string }[]>`
        insert into virtual_models (name, strategy, enabled, description)
        values (${input.name}, ${input.strategy}, ${input.enabled}, ${input.description})
        returning id`;
      await replaceCandidates(tx, row!.id, input.candidates);
      const after = (await getVirtualModel(tx, row!.id))!;
      await recordAudit(tx, actor, {
        action: "virtual_model.create",
        targetType: "virtual_model",
        targetId: after.id,
        after,
      });
      return after;
    }),
  );
}

/** Changes a virtual model (strategy, candidates and scores, enabled); the gateway sees it within its cache TTL. */
export async function updateVirtualModel(
  db: Db,
  actor: Actor,
  id: string,
  input: Partial<VirtualModelInput>,
): Promise<VirtualModel> {
  assertAdmin(actor);
  return nameTaken(() =>
    inTransaction(db, async (tx) => {
      const [locked] = await tx`select 1 from virtual_models where id = ${id} for update`;
      const before = locked ? await getVirtualModel(tx, id) : null;
      if (!before) throw notFound("Virtual model");
      await assertValid(tx, input.name, input.candidates);
      await tx`
        update virtual_models set name = ${input.name ?? before.name}, strategy = ${input.strategy ?? before.strategy},
          enabled = ${input.enabled ?? before.enabled}, description = ${input.description ?? before.description}
        where id = ${id}`;
      if (input.candidates) await replaceCandidates(tx, id, input.candidates);
      const after = (await getVirtualModel(tx, id))!;
      await recordAudit(tx, actor, {
        action: "virtual_model.update",
        targetType: "virtual_model",
        targetId: id,
        before,
        after,
      });
      return after;
    }),
  );
}
