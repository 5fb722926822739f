import { db } from "@/lib/db";
import { notFound } from "@/lib/http/errors";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { getInvitation } from "@/lib/orgs/invitations";
import { invitationToken } from "@/lib/orgs/schemas";

/** What an invitation link offers a signed-in visitor: organization, role, inviter, invited email, state. */
export const GET = withSession({}, async ({ params, actor }) => {
  const token = invitationToken.safeParse(params.token);
  if (!token.success) throw notFound("Invitation");
  return json({ invitation: await getInvitation(db(), actor, token.data) });
});
