import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, forbidden } from "@/lib/http/errors";
import { orgAllows, orgFor } from "@/lib/orgs/access";
import { assertAdmin } from "@/lib/users/assert-admin";
import type { OrgRetention, OrgRetentionBody, RetentionSettings, RetentionSettingsBody } from "./schemas";

/** The platform's policy (one row). */
export async function getRetentionSettings(db: Db): Promise<RetentionSettings> {
  const [row] = await db<RetentionSettings[]>`
    select usage_detail_days as "usageDetailDays", hourly_rollup_days as "hourlyRollupDays",
           playground_days as "playgroundDays", updated_at as "updatedAt"
    from retention_settings`;
  return row!;
}

const tooShortForHourly = () =>
  new AppError(
    "validation_failed",
    "Invalid request body: hourlyRollupDays: must be at least usageDetailDays",
    {
      issues: [{ path: "hourlyRollupDays", message: "must be at least usageDetailDays" }],
    },
  );

/** Admins set the platform's policy; one transaction, audited with before and after (retention.settings). */
export async function updateRetentionSettings(
  db: Db,
  actor: Actor,
  input: RetentionSettingsBody,
): Promise<RetentionSettings> {
  assertAdmin(actor);
  return inTransaction(db, async (tx) => {
    const before = await getRetentionSettings(tx);
    const next = {
      usageDetailDays: input.usageDetailDays ?? before.usageDetailDays,
      hourlyRollupDays: input.hourlyRollupDays ?? before.hourlyRollupDays,
      playgroundDays: input.playgroundDays ?? before.playgroundDays,
    };
    if (next.hourlyRollupDays < next.usageDetailDays) throw tooShortForHourly();
    const [after] = await tx<RetentionSettings[]>`
      update retention_settings set usage_detail_days = ${next.usageDetailDays},
        hourly_rollup_days = ${next.hourlyRollupDays}, playground_days = ${next.playgroundDays},
        updated_by = ${actor.userId}
      returning usage_detail_days as "usageDetailDays", hourly_rollup_days as "hourlyRollupDays",
                playground_days as "playgroundDays", updated_at as "updatedAt"`;
    const { updatedAt: _b, ...was } = before;
    await recordAudit(tx, actor, {
      action: "retention.settings",
      targetType: "retention_settings",
      before: was,
      after: next,
    });
    return after!;
  });
}

async function orgRetentionOf(db: Db, organizationId: string, canChange: boolean): Promise<OrgRetention> {
  const platform = await getRetentionSettings(db);
  const [own] = await db<{ usageDetailDays: number | null; playgroundDays: number | null }[]>`
    select usage_detail_days as "usageDetailDays", playground_days as "playgroundDays"
    from organization_retention where organization_id = ${organizationId}`;
  const usageDetailDays = own?.usageDetailDays ?? null;
  const playgroundDays = own?.playgroundDays ?? null;
  return {
    organizationId,
    usageDetailDays,
    playgroundDays,
    platform: { usageDetailDays: platform.usageDetailDays, playgroundDays: platform.playgroundDays },
    // Never longer than the platform's: the platform's partitions leave at its own cutoff whatever an org asks.
    effective: {
      usageDetailDays: Math.min(usageDetailDays ?? platform.usageDetailDays, platform.usageDetailDays),
      playgroundDays: Math.min(playgroundDays ?? platform.playgroundDays, platform.playgroundDays),
    },
    canChange,
  };
}

/** An organization's policy: every member may read it (it says how long their calls are kept). */
export async function getOrgRetention(db: Db, actor: Actor, org: string): Promise<OrgRetention> {
  const ctx = await orgFor(db, actor, org, "view");
  return orgRetentionOf(db, ctx.id, orgAllows(ctx, "settings", actsAsPlatformAdmin(actor)));
}

/**
 * Its owners and admins (and platform admins) shorten it: an organization may keep less detail than the platform,
 * never more (422 naming the platform's days). Only the fields sent change; null goes back to the platform's.
 * One transaction, audited (retention.organization) with before and after.
 */
export async function updateOrgRetention(
  db: Db,
  actor: Actor,
  org: string,
  input: OrgRetentionBody,
): Promise<OrgRetention> {
  return inTransaction(db, async (tx) => {
    const ctx = await orgFor(tx, actor, org, "view");
    if (!orgAllows(ctx, "settings", actsAsPlatformAdmin(actor))) {
      throw forbidden(`Your role in ${ctx.name} (${ctx.role}) does not allow this.`);
    }
    const before = await orgRetentionOf(tx, ctx.id, true);
    const next = {
      usageDetailDays: input.usageDetailDays === undefined ? before.usageDetailDays : input.usageDetailDays,
      playgroundDays: input.playgroundDays === undefined ? before.playgroundDays : input.playgroundDays,
    };
    const issues = [];
    if (next.usageDetailDays !== null && next.usageDetailDays > before.platform.usageDetailDays)
      issues.push({
        path: "usageDetailDays",
        message: `at most the platform's ${before.platform.usageDetailDays} days`,
      });
    if (next.playgroundDays !== null && next.playgroundDays > before.platform.playgroundDays)
      issues.push({
        path: "playgroundDays",
        message: `at most the platform's ${before.platform.playgroundDays} days`,
      });
    if (issues.length) {
      throw new AppError(
        "validation_failed",
        `Invalid request body: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
        { issues },
      );
    }
    await tx`
      insert into organization_retention (organization_id, usage_detail_days, playground_days, updated_by)
      values (${ctx.id}, ${next.usageDetailDays}, ${next.playgroundDays}, ${actor.userId})
      on conflict (organization_id) do update set usage_detail_days = excluded.usage_detail_days,
        playground_days = excluded.playground_days, updated_by = excluded.updated_by`;
    await recordAudit(tx, actor, {
      action: "retention.organization",
      targetType: "organization",
      targetId: ctx.id,
      before: { usageDetailDays: before.usageDetailDays, playgroundDays: before.playgroundDays },
      after: next,
    });
    return orgRetentionOf(tx, ctx.id, true);
  });
}
