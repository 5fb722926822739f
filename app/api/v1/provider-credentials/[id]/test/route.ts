import { db } from "@/lib/db";
import { parseId } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { testCredential } from "@/lib/providers/test";

/** A tiny call to the provider with the stored key (its models list); records and answers ok or the error. */
export const POST = withSession({}, async ({ params, actor }) =>
  json(await testCredential(db(), actor, parseId(params.id, "The provider key"))),
);
