import { db } from "@/lib/db";
import { parseId, parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { removeMember, updateMember } from "@/lib/orgs/members";
import { parseOrgRef, updateMemberBody } from "@/lib/orgs/schemas";

/** A member's role and caps; a demotion to billing revokes their keys of the organization. */
export const PATCH = withSession({}, async ({ req, params, actor }) => {
  const ref = parseOrgRef(params.org);
  const userId = parseId(params.userId, "Member");
  return json({
    member: await updateMember(db(), actor, ref, userId, await parseJson(req, updateMemberBody)),
  });
});

/** Removes a member (or the caller leaves): their keys of the organization are revoked in the same transaction. */
export const DELETE = withSession({}, async ({ params, actor }) =>
  json(await removeMember(db(), actor, parseOrgRef(params.org), parseId(params.userId, "Member"))),
);
