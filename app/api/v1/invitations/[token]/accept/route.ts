import { db } from "@/lib/db";
import { notFound } from "@/lib/http/errors";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { acceptInvitation } from "@/lib/orgs/invitations";
import { invitationToken } from "@/lib/orgs/schemas";

/** Accepts the invitation as the signed-in user (their email must be the invited one); the link works once. */
export const POST = withSession({}, async ({ params, actor }) => {
  const token = invitationToken.safeParse(params.token);
  if (!token.success) throw notFound("Invitation");
  return json(await acceptInvitation(db(), actor, token.data), { status: 201 });
});
