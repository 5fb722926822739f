import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { statementsListResponse } from "@/lib/statements/http";

/** The signed-in person's monthly statements of their own account, newest first. */
export const GET = withSession({}, async ({ actor }) => statementsListResponse(db(), actor, { kind: "own" }));
