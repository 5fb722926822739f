"use client";

import { Crown, LogOut, MailPlus, MoreHorizontal, Pencil, UserMinus } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { usd } from "@/components/billing/format";
import { Money } from "@/components/billing/money";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Confirm } from "@/components/ui/confirm";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "@/components/ui/dialog";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/sonner";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableMessage,
  TableRow,
  TableTruncate,
} from "@/components/ui/table";
import { UtcTime } from "@/components/ui/utc-time";
import { parseUsd } from "@/lib/billing/money";
import type { Json } from "@/lib/json";
import type { OrgAbilities } from "@/lib/orgs/overview";
import { ASSIGNABLE_ROLES } from "@/lib/orgs/schemas";
import type { OrgInvitation, OrgMember, OrgRole } from "@/lib/orgs/types";
import { fieldErrors } from "@/lib/ui/api";
import { cn } from "@/lib/utils";
import { useInvite, useRemoveMember, useRevokeInvitation, useTransfer, useUpdateMember } from "./queries";

type Member = Json<OrgMember>;
type Invitation = Json<OrgInvitation>;
type Assignable = (typeof ASSIGNABLE_ROLES)[number];

const ROLE_HINT: Record<OrgRole, string> = {
  owner: "everything, and the only one who can hand the organization over",
  admin: "members, keys, caps and settings",
  member: "uses the organization's money through keys and the playground, within caps",
  billing: "tops up and reads statements; no keys",
};

const toUsd = (micros: number | null | undefined) =>
  micros === null || micros === undefined ? "" : String(micros / 1e6);
const parseCap = (text: string) => (text.trim() === "" ? null : parseUsd(text));
const badCap = (text: string) => text.trim() !== "" && (parseUsd(text) === null || parseUsd(text)! < 0n);

/** A cap's use as a bar: charges plus reservations in its UTC window against the cap. */
function CapBar({ used, cap, label, testId }: { used: number; cap: number; label: string; testId: string }) {
  const percent = cap <= 0 ? 100 : Math.min(100, Math.round((used / cap) * 1000) / 10);
  return (
    <div
      aria-hidden
      data-testid={testId}
      data-percent={percent}
      title={`${label}: ${usd(used)} of ${usd(cap)} (${percent}%, charges plus reservations)`}
      className="mt-0.5 mb-1 h-1.5 w-full max-w-40 overflow-hidden rounded bg-muted"
    >
      <div
        className={cn(
          "h-full",
          percent >= 100 ? "bg-destructive" : percent >= 80 ? "bg-warning" : "bg-primary",
        )}
        style={{ width: `${percent}%` }}
      />
    </div>
  );
}

/** Today's or this month's spend against a cap: charged, then a bar of what the cap counts. */
function Spend({ member, window }: { member: Member; window: "today" | "month" }) {
  const charged = window === "today" ? member.todayChargedMicros : member.monthChargedMicros;
  const used = window === "today" ? member.todaySpentMicros : member.monthSpentMicros;
  const cap = window === "today" ? member.dailyCapMicros : member.monthlyCapMicros;
  if (charged === undefined) return <span className="text-xs text-muted-foreground">—</span>;
  return (
    <div className="grid min-w-32 text-xs tabular-nums" data-testid={`member-${window}`}>
      <span>
        <Money micros={charged} /> {window === "today" ? "today" : "this month"}
        {cap !== null && cap !== undefined ? (
          <span className="text-muted-foreground">
            {" "}
            · cap <Money micros={cap} />
          </span>
        ) : (
          <span className="text-muted-foreground"> · no cap</span>
        )}
      </span>
      {cap !== null && cap !== undefined ? (
        <CapBar
          used={used ?? 0}
          cap={cap}
          label={`${member.email}: ${window === "today" ? "daily" : "monthly"} cap used`}
          testId={`member-${window}-meter`}
        />
      ) : null}
    </div>
  );
}

function RoleSelect({
  id,
  value,
  onChange,
  allowAdmin,
  disabled,
  label,
}: {
  id: string;
  value: string;
  onChange: (role: Assignable) => void;
  allowAdmin: boolean;
  disabled?: boolean;
  label?: string;
}) {
  return (
    <select
      id={id}
      aria-label={label}
      disabled={disabled}
      className="h-8 rounded-md border border-input bg-transparent px-2 text-sm"
      value={value}
      onChange={(e) => onChange(e.target.value as Assignable)}
    >
      {ASSIGNABLE_ROLES.filter((r) => allowAdmin || r !== "admin" || value === "admin").map((role) => (
        <option key={role} value={role}>
          {role}
        </option>
      ))}
    </select>
  );
}

function InviteDialog({ org, allowAdmin }: { org: string; allowAdmin: boolean }) {
  const [open, setOpen] = useState(false);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Assignable>("member");
  const invite = useInvite(org);
  const errors = fieldErrors(invite.error);
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) invite.reset();
      }}
    >
      <DialogTrigger asChild>
        <Button>
          <MailPlus /> Invite member
        </Button>
      </DialogTrigger>
      <DialogContent>
        <form
          className="grid gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            invite.mutate(
              { email: email.trim(), role },
              {
                onSuccess: () => {
                  toast.success(`Invitation emailed to ${email.trim()}`);
                  setOpen(false);
                  setEmail("");
                  setRole("member");
                  invite.reset();
                },
              },
            );
          }}
        >
          <DialogHeader>
            <DialogTitle>Invite a member</DialogTitle>
            <DialogDescription>
              We email them a link that works once, for 7 days. They accept it signed in with this email.
            </DialogDescription>
          </DialogHeader>
          <FormError message={invite.error && !Object.keys(errors).length ? invite.error.message : null} />
          <Field id="invite-email" label="Email" error={errors.email}>
            <Input
              id="invite-email"
              type="email"
              required
              autoComplete="off"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </Field>
          <Field id="invite-role" label="Role" error={errors.role} hint={ROLE_HINT[role]}>
            <RoleSelect id="invite-role" value={role} onChange={setRole} allowAdmin={allowAdmin} />
          </Field>
          <DialogFooter>
            <Button type="submit" disabled={invite.isPending || !email.trim()}>
              {invite.isPending ? "Sending…" : "Send invitation"}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}

function CapsDialog({ org, member, onClose }: { org: string; member: Member; onClose: () => void }) {
  const [daily, setDaily] = useState(toUsd(member.dailyCapMicros));
  const [monthly, setMonthly] = useState(toUsd(member.monthlyCapMicros));
  const update = useUpdateMember(org);
  const errors = fieldErrors(update.error);
  return (
    <Dialog open onOpenChange={(open) => (!open ? onClose() : undefined)}>
      <DialogContent>
        <form
          className="grid gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            update.mutate(
              {
                userId: member.userId,
                body: {
                  dailyCapMicros: parseCap(daily)?.toString() ?? null,
                  monthlyCapMicros: parseCap(monthly)?.toString() ?? null,
                },
              },
              {
                onSuccess: () => {
                  toast.success(`Caps of ${member.email} saved`);
                  onClose();
                },
              },
            );
          }}
        >
          <DialogHeader>
            <DialogTitle>Caps of {member.name || member.email}</DialogTitle>
            <DialogDescription>
              The most their calls may spend of the organization's money per UTC day and month, charges plus
              what calls in progress reserve; a call that would cross a cap is refused (429). Empty: no cap.
            </DialogDescription>
          </DialogHeader>
          <FormError message={update.error && !Object.keys(errors).length ? update.error.message : null} />
          <div className="grid grid-cols-2 gap-3">
            <Field
              id="cap-daily"
              label="Daily cap (USD)"
              error={errors.dailyCapMicros ?? (badCap(daily) ? "Not an amount" : null)}
            >
              <Input
                id="cap-daily"
                inputMode="decimal"
                value={daily}
                onChange={(e) => setDaily(e.target.value)}
              />
            </Field>
            <Field
              id="cap-monthly"
              label="Monthly cap (USD)"
              error={errors.monthlyCapMicros ?? (badCap(monthly) ? "Not an amount" : null)}
            >
              <Input
                id="cap-monthly"
                inputMode="decimal"
                value={monthly}
                onChange={(e) => setMonthly(e.target.value)}
              />
            </Field>
          </div>
          <DialogFooter>
            <Button type="button" variant="outline" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" disabled={update.isPending || badCap(daily) || badCap(monthly)}>
              Save caps
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}

type Pending =
  | { kind: "remove"; member: Member }
  | { kind: "leave"; member: Member }
  | { kind: "transfer"; member: Member }
  | { kind: "revoke"; invitation: Invitation };

/**
 * An organization's members and pending invitations. Owners and admins invite, change roles, set caps and remove
 * (only the owner touches admins); the owner hands the organization over; everyone but the owner may leave. What a
 * role may not do is not shown.
 */
export function MembersPanel({
  org,
  orgName,
  members,
  invitations,
  can,
  me,
  myRole,
}: {
  org: string;
  orgName: string;
  members: Member[];
  invitations: Invitation[];
  can: OrgAbilities;
  me: string;
  myRole: OrgRole | null;
}) {
  const router = useRouter();
  const [pending, setPending] = useState<Pending | null>(null);
  const [editing, setEditing] = useState<Member | null>(null);
  const update = useUpdateMember(org);
  const remove = useRemoveMember(org);
  const transfer = useTransfer(org);
  const revoke = useRevokeInvitation(org);
  const ownerPowers = myRole === "owner" || can.platformAdmin;
  const seesSpend = can.seeAllUsage;
  /** Whether the actor may change this member's role, caps or membership (never the owner's; an admin's: owner). */
  const manages = (m: Member) =>
    can.manageMembers && m.role !== "owner" && (m.role !== "admin" || ownerPowers) && m.userId !== me;

  const confirm = () => {
    if (!pending) return;
    const done = { onSettled: () => setPending(null), onError: (e: Error) => toast.error(e.message) };
    if (pending.kind === "remove") {
      remove.mutate(pending.member.userId, {
        ...done,
        onSuccess: () => toast.success(`Removed ${pending.member.email}; their keys are revoked.`),
      });
    } else if (pending.kind === "leave") {
      remove.mutate(me, {
        ...done,
        onSuccess: () => {
          toast.success(`You left ${orgName}.`);
          router.push("/orgs");
        },
      });
    } else if (pending.kind === "transfer") {
      transfer.mutate(pending.member.userId, {
        ...done,
        onSuccess: () => toast.success(`${pending.member.email} now owns ${orgName}.`),
      });
    } else {
      revoke.mutate(pending.invitation.id, {
        ...done,
        onSuccess: () => toast.success(`Invitation to ${pending.invitation.email} revoked.`),
      });
    }
  };
  const self = members.find((m) => m.userId === me);

  return (
    <div className="grid grid-cols-1 gap-6">
      <Card>
        <CardHeader className="flex flex-wrap items-start justify-between gap-3">
          <div className="grid gap-1.5">
            <CardTitle>Members</CardTitle>
            <CardDescription>
              {seesSpend
                ? "Each member's spend of the organization's money today and this month (UTC), against their caps."
                : "Who is in the organization and their roles; your own spend and caps."}
            </CardDescription>
          </div>
          <div className="flex flex-wrap gap-2">
            {can.manageMembers ? <InviteDialog org={org} allowAdmin={ownerPowers} /> : null}
            {self && self.role !== "owner" ? (
              <Button variant="outline" onClick={() => setPending({ kind: "leave", member: self })}>
                <LogOut /> Leave
              </Button>
            ) : null}
          </div>
        </CardHeader>
        <CardContent>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Member</TableHead>
                <TableHead>Role</TableHead>
                <TableHead>Today (UTC)</TableHead>
                <TableHead>This month (UTC)</TableHead>
                <TableHead>Joined</TableHead>
                <TableHead className="text-right">
                  <span className="sr-only">Actions</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {members.map((m) => {
                const managed = manages(m);
                return (
                  <TableRow key={m.userId} data-testid="member-row" data-email={m.email}>
                    <TableCell>
                      <TableTruncate text={m.name || m.email} className="max-w-48 font-medium" />
                      {m.name ? (
                        <TableTruncate text={m.email} className="max-w-48 text-xs text-muted-foreground" />
                      ) : null}
                    </TableCell>
                    <TableCell>
                      {managed ? (
                        <RoleSelect
                          id={`role-${m.userId}`}
                          label={`Role of ${m.email}`}
                          value={m.role}
                          allowAdmin={ownerPowers}
                          disabled={update.isPending}
                          onChange={(role) =>
                            update.mutate(
                              { userId: m.userId, body: { role } },
                              {
                                onSuccess: () => toast.success(`${m.email} is now ${role}`),
                                onError: (e) => toast.error(e.message),
                              },
                            )
                          }
                        />
                      ) : (
                        <Badge
                          variant={m.role === "owner" ? "default" : "secondary"}
                          title={ROLE_HINT[m.role]}
                        >
                          {m.role}
                        </Badge>
                      )}
                      {m.userId === me ? (
                        <span className="ml-2 text-xs text-muted-foreground">you</span>
                      ) : null}
                    </TableCell>
                    <TableCell className="whitespace-normal">
                      <Spend member={m} window="today" />
                    </TableCell>
                    <TableCell className="whitespace-normal">
                      <Spend member={m} window="month" />
                    </TableCell>
                    <TableCell
                      className="text-xs text-muted-foreground"
                      title={m.invitedByEmail ? `Invited by ${m.invitedByEmail}` : undefined}
                    >
                      <UtcTime at={m.joinedAt} day />
                    </TableCell>
                    <TableCell className="text-right">
                      {managed || (can.ownership && m.role !== "owner") ? (
                        <DropdownMenu>
                          <DropdownMenuTrigger asChild>
                            <Button
                              size="icon"
                              variant="ghost"
                              className="size-8"
                              aria-label={`Actions for ${m.email}`}
                              data-testid="member-actions"
                            >
                              <MoreHorizontal />
                            </Button>
                          </DropdownMenuTrigger>
                          <DropdownMenuContent align="end">
                            {managed ? (
                              <DropdownMenuItem onSelect={() => setEditing(m)}>
                                <Pencil /> Edit caps
                              </DropdownMenuItem>
                            ) : null}
                            {can.ownership && m.role !== "owner" ? (
                              <DropdownMenuItem onSelect={() => setPending({ kind: "transfer", member: m })}>
                                <Crown /> Make owner
                              </DropdownMenuItem>
                            ) : null}
                            {managed ? (
                              <DropdownMenuItem
                                variant="destructive"
                                onSelect={() => setPending({ kind: "remove", member: m })}
                              >
                                <UserMinus /> Remove
                              </DropdownMenuItem>
                            ) : null}
                          </DropdownMenuContent>
                        </DropdownMenu>
                      ) : null}
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        </CardContent>
      </Card>

      {can.manageMembers ? (
        <Card data-testid="invitations">
          <CardHeader>
            <CardTitle>Pending invitations</CardTitle>
            <CardDescription>
              Links sent and not used yet. Revoke one to stop its link working; an expired one can be sent
              again.
            </CardDescription>
          </CardHeader>
          <CardContent>
            <Table>
              <TableHeader>
                <TableRow>
                  <TableHead>Email</TableHead>
                  <TableHead>Role</TableHead>
                  <TableHead>Invited by</TableHead>
                  <TableHead>Expires (UTC)</TableHead>
                  <TableHead className="text-right">Actions</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {invitations.length === 0 ? (
                  <TableMessage colSpan={5}>
                    No pending invitations. Invite a member to share the organization's balance.
                  </TableMessage>
                ) : null}
                {invitations.map((i) => (
                  <TableRow key={i.id} data-testid="invitation-row" data-email={i.email}>
                    <TableCell>
                      <TableTruncate text={i.email} className="max-w-64" />
                    </TableCell>
                    <TableCell>
                      <Badge variant="secondary">{i.role}</Badge>
                    </TableCell>
                    <TableCell>
                      <TableTruncate
                        text={i.invitedByName ?? i.invitedByEmail ?? "—"}
                        className="max-w-48 text-xs text-muted-foreground"
                      />
                    </TableCell>
                    <TableCell className="text-xs">
                      <UtcTime at={i.expiresAt} />
                      {i.state === "expired" ? (
                        <Badge variant="warning" className="ml-2">
                          expired
                        </Badge>
                      ) : null}
                    </TableCell>
                    <TableCell className="text-right">
                      <Button
                        size="sm"
                        variant="outline"
                        onClick={() => setPending({ kind: "revoke", invitation: i })}
                      >
                        Revoke
                      </Button>
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </CardContent>
        </Card>
      ) : null}

      {editing ? <CapsDialog org={org} member={editing} onClose={() => setEditing(null)} /> : null}
      <Confirm
        open={pending !== null}
        title={
          pending?.kind === "remove"
            ? `Remove ${pending.member.email}?`
            : pending?.kind === "leave"
              ? `Leave ${orgName}?`
              : pending?.kind === "transfer"
                ? `Make ${pending.member.email} the owner?`
                : `Revoke the invitation to ${pending?.kind === "revoke" ? pending.invitation.email : ""}?`
        }
        description={
          pending?.kind === "remove"
            ? `They lose access to ${orgName}, and their keys of it are revoked: the gateway refuses them within seconds. Their calls so far stay in the statements.`
            : pending?.kind === "leave"
              ? `You lose access to ${orgName}, and your keys of it are revoked. An owner or admin can invite you again.`
              : pending?.kind === "transfer"
                ? `${pending.member.email} becomes the one owner of ${orgName}; ${myRole === "owner" ? "you stay in it as an admin and cannot undo this yourself" : "the current owner stays in it as an admin"}.`
                : "Its link stops working at once."
        }
        confirmLabel={
          pending?.kind === "remove"
            ? "Remove member"
            : pending?.kind === "leave"
              ? "Leave organization"
              : pending?.kind === "transfer"
                ? "Transfer ownership"
                : "Revoke invitation"
        }
        destructive={pending?.kind !== "transfer"}
        pending={remove.isPending || transfer.isPending || revoke.isPending}
        onConfirm={confirm}
        onCancel={() => setPending(null)}
      />
    </div>
  );
}
