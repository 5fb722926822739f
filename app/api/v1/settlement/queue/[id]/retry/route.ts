import { db } from "@/lib/db";
import { AppError } from "@/lib/http/errors";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { retryDeadJob } from "@/lib/settlement/views";

/** Puts a dead job back in the queue with fresh attempts. */
export const POST = withSession({ role: "admin" }, async ({ params, actor }) => {
  if (!/^\d{1,18}$/.test(params.id ?? "")) throw new AppError("not_found", "Dead job was not found.");
  await retryDeadJob(db(), actor, params.id!);
  return json({ ok: true });
});
