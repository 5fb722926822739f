import { db } from "@/lib/db";
import { parseId } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { deleteCredential } from "@/lib/providers/credentials";

export const DELETE = withSession({}, async ({ params, actor }) => {
  await deleteCredential(db(), actor, parseId(params.id, "The provider key"));
  return json({ deleted: true });
});
