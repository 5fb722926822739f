"use client";

import { Building2 } from "lucide-react";
import { useRouter } from "next/navigation";
import { Logo } from "@/components/shell/logo";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "@/components/ui/card";
import { FormError } from "@/components/ui/form";
import Link from "@/components/ui/link";
import { toast } from "@/components/ui/sonner";
import { UtcTime } from "@/components/ui/utc-time";
import type { Json } from "@/lib/json";
import type { InvitationView } from "@/lib/orgs/types";
import { api } from "@/lib/ui/api";
import { InviteSignupForm } from "./invite-signup-form";
import { useAcceptInvitation } from "./queries";

type Invitation = Json<InvitationView>;

const GONE: Record<Exclude<Invitation["state"], "pending">, string> = {
  accepted: "This invitation has already been used. If it was you, the organization is under Organizations.",
  revoked: "This invitation was revoked. Ask the person who invited you for a new one.",
  expired: "This invitation has expired. Ask the person who invited you for a new one.",
};

/** The frame of the invitation page: the logo and one card, centred like the sign-in page. */
export function InviteFrame({ children }: { children: React.ReactNode }) {
  return (
    <main className="flex min-h-screen items-center justify-center bg-muted/40 p-6">
      <Card className="w-full max-w-md" data-testid="invite-card">
        {children}
      </Card>
    </main>
  );
}

/** A link that does not lead to an invitation (malformed, unknown). */
export function InviteInvalid() {
  return (
    <InviteFrame>
      <CardHeader>
        <Logo className="mb-2" />
        <CardTitle className="text-xl">Invitation not found</CardTitle>
        <CardDescription data-testid="invite-message">
          This invitation link is not valid: check that it was copied whole from the email, or ask for a new
          one.
        </CardDescription>
      </CardHeader>
      <CardFooter>
        <Button asChild variant="outline">
          <Link href="/">Go to Tollgate</Link>
        </Button>
      </CardFooter>
    </InviteFrame>
  );
}

/**
 * An invitation as its link shows it: the organization, the role, who invited, for which email; then the one thing
 * to do — accept (signed in with that email), sign in with it, or read why the link no longer works.
 */
export function InviteCard({
  token,
  invitation,
  signedInAs,
  signUp = false,
}: {
  token: string;
  invitation: Invitation;
  signedInAs: string | null;
  /** Whether accounts can be created here (local sign-in): then an invited email without one signs up. */
  signUp?: boolean;
}) {
  const router = useRouter();
  const accept = useAcceptInvitation(token);
  const org = invitation.organization;
  const next = `/invite/${token}`;
  const signInAgain = async () => {
    await api("/api/auth/logout", { method: "POST" }).catch(() => {});
    window.location.assign(`/login?next=${encodeURIComponent(next)}`);
  };
  let body: React.ReactNode;
  let action: React.ReactNode = null;
  if (invitation.state !== "pending") {
    body = GONE[invitation.state];
    action = (
      <Button asChild variant="outline">
        <Link href={signedInAs ? "/orgs" : "/login"}>{signedInAs ? "Your organizations" : "Sign in"}</Link>
      </Button>
    );
  } else if (invitation.alreadyMember) {
    body = `You are already a member of ${org.name}.`;
    action = (
      <Button asChild>
        <Link href={`/orgs/${org.slug}`}>Open {org.name}</Link>
      </Button>
    );
  } else if (!signedInAs && signUp && !invitation.accountExists) {
    body = `There is no Tollgate account for ${invitation.email} yet: create it to join ${org.name}.`;
    action = <InviteSignupForm token={token} email={invitation.email} organization={org} />;
  } else if (!signedInAs) {
    body = `Sign in as ${invitation.email} to accept it.${signUp ? "" : " No account with that email yet? Ask your Tollgate administrator to create one, then open this link again."}`;
    action = (
      <Button asChild>
        <Link href={`/login?next=${encodeURIComponent(next)}`}>Sign in as {invitation.email}</Link>
      </Button>
    );
  } else if (!invitation.forYou) {
    body = `You are signed in as ${signedInAs}, but this invitation is for ${invitation.email}: only that account can accept it. Sign in with it instead.`;
    action = (
      <Button onClick={signInAgain} variant="outline">
        Sign in as {invitation.email}
      </Button>
    );
  } else {
    body = `Accepting lets you spend ${org.name}'s balance through its keys and the playground, within the caps its owner sets.`;
    action = (
      <Button
        disabled={accept.isPending}
        onClick={() =>
          accept.mutate(undefined, {
            onSuccess: () => {
              toast.success(`You joined ${org.name}`);
              router.push(`/orgs/${org.slug}`);
            },
          })
        }
      >
        {accept.isPending ? "Joining…" : `Accept and join ${org.name}`}
      </Button>
    );
  }
  return (
    <InviteFrame>
      <CardHeader>
        <Logo className="mb-2" />
        <CardTitle className="flex items-center gap-2 text-xl">
          <Building2 className="size-5 shrink-0 text-primary" aria-hidden />
          <span className="min-w-0 [overflow-wrap:anywhere]">Join {org.name}</span>
        </CardTitle>
        <CardDescription>
          {invitation.invitedByName ?? invitation.invitedByEmail ?? "Someone"} invited{" "}
          <span className="font-medium text-foreground [overflow-wrap:anywhere]">{invitation.email}</span> as{" "}
          <span className="font-medium text-foreground" data-testid="invite-role">
            {invitation.role}
          </span>
          .{" "}
          {invitation.state === "pending" ? (
            <>
              The link works once, until <UtcTime at={invitation.expiresAt} />.
            </>
          ) : null}
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3 text-sm">
        <p data-testid="invite-message">{body}</p>
        <FormError message={accept.error?.message} />
      </CardContent>
      <CardFooter className="flex flex-wrap gap-2">{action}</CardFooter>
    </InviteFrame>
  );
}
