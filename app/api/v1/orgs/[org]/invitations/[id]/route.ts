import { db } from "@/lib/db";
import { parseId } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { revokeInvitation } from "@/lib/orgs/invitations";
import { parseOrgRef } from "@/lib/orgs/schemas";

/** Revokes a pending invitation: its link stops working (and an email not yet sent never goes out). */
export const DELETE = withSession({}, async ({ params, actor }) =>
  json({
    invitation: await revokeInvitation(
      db(),
      actor,
      parseOrgRef(params.org),
      parseId(params.id, "Invitation"),
    ),
  }),
);
