import type { Metadata } from "next";
import { InviteCard, InviteInvalid } from "@/components/orgs/invite-card";
import { currentUser } from "@/lib/auth/current";
import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { AppError } from "@/lib/http/errors";
import { getInvitation } from "@/lib/orgs/invitations";
import { asJson } from "@/lib/orgs/overview";
import { invitationToken } from "@/lib/orgs/schemas";

export const metadata: Metadata = { title: "Invitation" };
export const dynamic = "force-dynamic";

/**
 * An organization's invitation link: what it offers, and accepting it signed in with the invited email. Holding the
 * link is what lets one see it, so it opens signed out too (then it asks to sign in with that email).
 */
export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const parsed = invitationToken.safeParse((await params).token);
  if (!parsed.success) return <InviteInvalid />;
  const user = await currentUser();
  const invitation = await getInvitation(
    db(),
    { userId: user?.userId ?? null, kind: "user", role: user?.role },
    parsed.data,
  ).catch((error) => {
    if (error instanceof AppError && error.code === "not_found") return null;
    throw error;
  });
  if (!invitation) return <InviteInvalid />;
  return (
    <InviteCard
      token={parsed.data}
      invitation={asJson(invitation)}
      signedInAs={user?.email ?? null}
      signUp={config().AUTH_PROVIDER === "local"}
    />
  );
}
