import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { listMembers } from "@/lib/orgs/members";
import { parseOrgRef } from "@/lib/orgs/schemas";

/** The members, owner first: roles, and caps and spend where the caller may see them. */
export const GET = withSession({}, async ({ params, actor }) =>
  json({ items: await listMembers(db(), actor, parseOrgRef(params.org)) }),
);
