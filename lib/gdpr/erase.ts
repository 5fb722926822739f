import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import { type Db, inTransaction, type Tx } from "@/lib/db/client";
import { AppError, conflict, forbidden, notFound } from "@/lib/http/errors";
import { revokeKey } from "@/lib/keys/revoke";
import { removeMember } from "@/lib/orgs/members";
import type { ErasureResult } from "./schemas";

// Erasure of a person (GDPR art. 17), by a platform admin who types the person's email. One transaction: the
// person's row stays (keys, usage, ledger and payments point to it) under a pseudonym, and everything that says who
// they are goes: their name, password, Supabase link, sessions, sign-in throttle buckets, invitations to their
// address, playground conversations, the names they gave their keys, and the personal fields of the audit entries,
// notifications and queue payloads about them. Money is not touched: ledger rows are append-only, balances stay,
// usage rows keep their amounts (they hold no end-user ids, addresses or prompts; see the report's column list).

/** The address an erased user's row carries: unique, and never deliverable (.invalid is reserved, RFC 2606). */
export const erasedEmail = (userId: string) => `erased-${userId}@invalid`;

const isErased = (user: { id: string; email: string }) => user.email === erasedEmail(user.id);

interface Person {
  id: string;
  email: string;
  name: string | null;
  role: string;
  accountId: string | null;
}

/**
 * Ends the person's memberships with the member-removal verb (their organization keys are revoked there). An owner
 * of an organization with other members is refused (409: hand it over first); an organization where the owner is
 * alone is suspended and left without members, its account and ledger as they are.
 */
async function endMemberships(
  tx: Tx,
  actor: Actor,
  person: Person,
): Promise<{ ended: number; leftEmpty: number }> {
  const memberships = await tx<{ organizationId: string; name: string; role: string; others: number }[]>`
    select m.organization_id as "organizationId", o.name, m.role,
           (select count(*) from organization_members o2
            where o2.organization_id = m.organization_id and o2.user_id <> m.user_id)::int as others
    from organization_members m join organizations o on o.id = m.organization_id
    where m.user_id = ${person.id}
    order by m.organization_id
    for update of m`;
  const shared = memberships.filter((m) => m.role === "owner" && m.others > 0);
  if (shared.length) {
    throw conflict(
      `This user owns ${shared.map((m) => m.name).join(", ")} with other members: transfer the ownership to another member first, then erase.`,
    );
  }
  let leftEmpty = 0;
  for (const m of memberships) {
    if (m.role !== "owner") {
      await removeMember(tx, actor, m.organizationId, person.id);
      continue;
    }
    // The owner alone: removeMember keeps owners, so their keys are revoked and the row deleted here, audited alike.
    const keys = await tx<{ id: string }[]>`
      select k.id from api_keys k join accounts a on a.id = k.account_id
      where a.organization_id = ${m.organizationId} and k.user_id = ${person.id} and k.status = 'active'
      order by k.id`;
    for (const key of keys) await revokeKey(tx, actor, key.id);
    await tx`delete from organization_members where organization_id = ${m.organizationId} and user_id = ${person.id}`;
    await tx`update organizations set status = 'suspended' where id = ${m.organizationId}`;
    await recordAudit(tx, actor, {
      action: "org.member.remove",
      targetType: "organization",
      targetId: m.organizationId,
      before: { userId: person.id, role: "owner" },
      after: { revokedKeyIds: keys.map((k) => k.id), status: "suspended", reason: "owner erased" },
    });
    leftEmpty++;
  }
  return { ended: memberships.length, leftEmpty };
}

/**
 * Erases a user (admins only; not oneself, not an admin: demote first). The confirmation must be the user's email.
 * Idempotent: an erased user is recognised by their pseudonym and nothing is written again. A positive balance
 * does not stop it: the money stays on the pseudonymized account, the ledger whole.
 */
export async function eraseUser(
  db: Db,
  actor: Actor,
  userId: string,
  input: { confirmEmail: string },
): Promise<ErasureResult> {
  if (!actsAsPlatformAdmin(actor)) throw forbidden("Only administrators can erase a user.");
  return inTransaction(db, async (tx) => {
    const [person] = await tx<Person[]>`
      select u.id, u.email, u.name, u.role, a.id as "accountId"
      from users u left join accounts a on a.owner_user_id = u.id
      where u.id = ${userId}
      for update of u`;
    if (!person) throw notFound("User");
    const pseudonym = erasedEmail(person.id);
    const [account] = await tx<{ balance: bigint }[]>`
      select balance_micros as balance from accounts where owner_user_id = ${person.id}`;
    const balanceMicros = account?.balance ?? 0n;
    const nothing = {
      userId: person.id,
      pseudonym,
      keysRevoked: 0,
      sessionsDeleted: 0,
      membershipsEnded: 0,
      organizationsLeftEmpty: 0,
      invitationsDeleted: 0,
      conversationsDeleted: 0,
      notificationsRedacted: 0,
      auditEntriesPseudonymized: 0,
      balanceMicros,
    };
    if (isErased(person)) return { ...nothing, erased: false, alreadyErased: true };
    if (input.confirmEmail.trim().toLowerCase() !== person.email) {
      throw new AppError("validation_failed", "Type the user's email exactly to confirm the erasure.", {
        issues: [{ path: "confirmEmail", message: "does not match the user's email" }],
      });
    }
    if (person.id === actor.userId) throw conflict("You cannot erase your own account.");
    if (person.role === "admin")
      throw conflict("An administrator cannot be erased: make them a developer first.");

    const [active] = await tx<{ n: number }[]>`
      select count(*)::int as n from api_keys where user_id = ${person.id} and status = 'active'`;
    // Keys: the names the person typed may say who they are, so they go first (in the audit entries too, below):
    // revoking writes a key.revoked event with the key's name for the account's webhook endpoints. Then revoked (the
    // gateway refuses them within its auth TTL) here or with the memberships; rows kept for ledger and usage joins.
    const keys = await tx<{ id: string; name: string; accountId: string }[]>`
      select id, name, account_id as "accountId" from api_keys where user_id = ${person.id} order by id for update`;
    await tx`update api_keys set name = 'Erased user''s key ' || prefix where user_id = ${person.id}`;
    const memberships = await endMemberships(tx, actor, person);
    const stillActive = await tx<{ id: string }[]>`
      select id from api_keys where user_id = ${person.id} and status = 'active' order by id`;
    for (const key of stillActive) await revokeKey(tx, actor, key.id);

    const sessions = await tx`delete from sessions where user_id = ${person.id}`;
    await tx`
      delete from login_attempts
      where bucket = ${`email:${person.email}`} or bucket = ${`password:${person.id}`}
         or starts_with(bucket, ${`pair:${person.email}|`})`;
    const invitations = await tx`delete from organization_invitations where email = ${person.email}`;
    const conversations = await tx`delete from playground_conversations where user_id = ${person.id}`;
    // Their own provider keys (theirs, and those pinned to their keys) go; an organization's they stored stays, its
    // label without their name (scrubbed with the other texts below).
    await tx`
      delete from provider_credentials
      where user_id = ${person.id} or key_id in (select id from api_keys where user_id = ${person.id})`;
    // Alert rules watching this person or their keys watch nobody now; their names may name them.
    await tx`
      delete from alert_rules
      where user_id = ${person.id} or key_id in (select id from api_keys where user_id = ${person.id})`;

    // Every name the person has had: the current one and those their audit entries remember (a rename keeps the
    // old one in `before`), each erased as a whole word wherever it is written about them.
    const [known] = await tx<{ names: string[] }[]>`
      select coalesce(array_agg(distinct n) filter (where length(trim(n)) >= 2), '{}') as names
      from (select ${person.name ?? ""}::text as n
            union all
            select x.n from audit_log a,
              lateral (values (a.before ->> 'name'), (a.after ->> 'name')) x(n)
            where a.target_type = 'user' and a.target_id = ${person.id}::text) names`;
    const names = known!.names;
    const keyNames = keys.map((k) => k.name);
    const notifications = await tx`
      update notifications
      set recipient = case when lower(recipient) = ${person.email} then ${pseudonym} else recipient end,
          subject = erase_text(subject, ${person.email}, ${tx.array(names)}::text[], ${pseudonym}),
          error = erase_text(error, ${person.email}, ${tx.array(names)}::text[], ${pseudonym})
      where lower(recipient) = ${person.email}
         or erase_text(subject, ${person.email}, ${tx.array(names)}::text[], ${pseudonym}) <> subject
         or erase_text(error, ${person.email}, ${tx.array(names)}::text[], ${pseudonym}) <> error`;
    await tx`
      update queue_jobs set payload = erase_jsonb(payload, ${person.email}, ${tx.array(names)}::text[], ${pseudonym}, ${tx.array(keyNames)}::text[]),
                            last_error = erase_text(last_error, ${person.email}, ${tx.array(names)}::text[], ${pseudonym})
      where position(${person.email} in lower(payload::text)) > 0
         or position(${person.email} in lower(coalesce(last_error, ''))) > 0`;

    // Webhooks. The person's own account's endpoints (their URL and description are theirs) go with their events,
    // deliveries and attempts (no other account's endpoint receives that account's events). The accounts their keys
    // spent from keep their endpoints and events, without the person's key names, names and address; so do the
    // answers their receivers gave and the descriptions of endpoints the person added there.
    if (person.accountId) {
      await tx`delete from webhook_events where account_id = ${person.accountId}`;
      await tx`delete from webhook_endpoints where account_id = ${person.accountId}`;
    }
    const keyIds = keys.map((k) => k.id);
    const keyAccounts = [...new Set(keys.map((k) => k.accountId))];
    await tx`
      update webhook_events
      set payload = erase_jsonb(payload, ${person.email}, ${tx.array(names)}::text[], ${pseudonym}, ${tx.array(keyNames)}::text[])
      where account_id = any(${tx.array(keyAccounts)}::uuid[])
        and ((payload -> 'key' ->> 'id') = any(${tx.array(keyIds)}::text[])
             or (payload -> 'member' ->> 'userId') = ${person.id}::text
             or position(${person.email} in lower(payload::text)) > 0)`;
    await tx`
      update webhook_attempts
      set response_excerpt = erase_text(response_excerpt, ${person.email}, ${tx.array([...names, ...keyNames])}::text[], ${pseudonym}),
          error = erase_text(error, ${person.email}, ${tx.array([...names, ...keyNames])}::text[], ${pseudonym})
      where endpoint_id in (select id from webhook_endpoints where account_id = any(${tx.array(keyAccounts)}::uuid[]))
        and (erase_text(response_excerpt, ${person.email}, ${tx.array([...names, ...keyNames])}::text[], ${pseudonym})
               is distinct from response_excerpt
             or erase_text(error, ${person.email}, ${tx.array([...names, ...keyNames])}::text[], ${pseudonym})
               is distinct from error)`;
    await tx`
      update webhook_endpoints
      set description = erase_text(description, ${person.email}, ${tx.array([...names, ...keyNames])}::text[], ${pseudonym})
      where created_by = ${person.id} or position(${person.email} in lower(description)) > 0`;
    await tx`
      update provider_credentials
      set label = erase_text(label, ${person.email}, ${tx.array([...names, ...keyNames])}::text[], ${pseudonym})
      where created_by = ${person.id} or position(${person.email} in lower(label)) > 0`;

    // The audit log keeps what happened; the personal fields of the entries by or about the person are
    // pseudonymized (the one change audit_erasure_only lets through, in this transaction only).
    // Their address also as a URL carries it (an endpoint's ?to=name%40example.com).
    const urlEmail = encodeURIComponent(person.email);
    const scrubbed = (column: string) => tx`
      erase_jsonb(erase_jsonb(${tx(column)}, ${person.email}, ${tx.array(names)}::text[], ${pseudonym}, ${tx.array(keyNames)}::text[]),
                  ${urlEmail}, '{}'::text[], ${pseudonym}, '{}'::text[])`;
    await tx`select set_config('tollgate.erasing', 'on', true)`;
    const audited = await tx`
      update audit_log set
        before = ${scrubbed("before")},
        after = ${scrubbed("after")},
        ip = case when actor_id = ${person.id} then null else ip end
      where actor_id = ${person.id}
         or (target_type = 'user' and target_id = ${person.id}::text)
         or (target_type = 'api_key' and target_id in (select id::text from api_keys where user_id = ${person.id}))
         or position(${person.email} in lower(coalesce(before::text, '') || coalesce(after::text, ''))) > 0
         or (${person.id}::text = any(array[before ->> 'userId', after ->> 'userId']))`;
    await tx`select set_config('tollgate.erasing', 'off', true)`;

    await tx`
      update users set email = ${pseudonym}, name = null, password_hash = null, auth_user_id = null,
                       status = 'suspended'
      where id = ${person.id}`;

    const result: ErasureResult = {
      ...nothing,
      erased: true,
      alreadyErased: false,
      keysRevoked: active!.n,
      sessionsDeleted: sessions.count,
      membershipsEnded: memberships.ended,
      organizationsLeftEmpty: memberships.leftEmpty,
      invitationsDeleted: invitations.count,
      conversationsDeleted: conversations.count,
      notificationsRedacted: notifications.count,
      auditEntriesPseudonymized: audited.count,
    };
    const { pseudonym: _p, ...counts } = result;
    await recordAudit(tx, actor, {
      action: "user.erased",
      targetType: "user",
      targetId: person.id,
      after: counts,
    });
    return result;
  });
}
