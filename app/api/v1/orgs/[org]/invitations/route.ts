import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { createInvitation, listInvitations } from "@/lib/orgs/invitations";
import { createInvitationBody, parseOrgRef } from "@/lib/orgs/schemas";

/** Invitations not yet accepted or revoked, with their expiry and inviter. */
export const GET = withSession({}, async ({ params, actor }) =>
  json({ items: await listInvitations(db(), actor, parseOrgRef(params.org)) }),
);

/** Invites an email; the link goes out by email through the queue and is never returned here. */
export const POST = withSession({}, async ({ req, params, actor }) => {
  const ref = parseOrgRef(params.org);
  const invitation = await createInvitation(db(), actor, ref, await parseJson(req, createInvitationBody));
  return json({ invitation }, { status: 201 });
});
