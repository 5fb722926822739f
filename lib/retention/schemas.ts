import { z } from "zod";

// Usage retention (issue 27 part 3, docs/adr/0022-usage-retention.md): the platform's policy (admins) and an
// organization's shorter one (its owners and admins), as the API answers and takes them. Shared by routes, verbs and
// pages (no server-only). Stored in retention_settings and organization_retention.

/** The bounds the database enforces too (retention_settings_*_check, organization_retention_*_check). */
export const RETENTION_BOUNDS = {
  usageDetailDays: { min: 7, max: 3650 },
  hourlyRollupDays: { min: 30, max: 36_500 },
  playgroundDays: { min: 1, max: 3650 },
  orgDays: { min: 1, max: 3650 },
} as const;

/** The platform's policy. Daily roll-ups and the ledger are kept forever and are not part of it. */
export interface RetentionSettings {
  usageDetailDays: number;
  hourlyRollupDays: number;
  playgroundDays: number;
  updatedAt: Date;
}

/** An organization's policy: null keeps the platform's; the effective days are never longer than the platform's. */
export interface OrgRetention {
  organizationId: string;
  usageDetailDays: number | null;
  playgroundDays: number | null;
  platform: { usageDetailDays: number; playgroundDays: number };
  effective: { usageDetailDays: number; playgroundDays: number };
  canChange: boolean;
}

const days = (b: { min: number; max: number }) => z.number().int().min(b.min).max(b.max);

/** Admins change the platform's policy: only what is sent changes; hourly roll-ups outlive the detail. */
export const retentionSettingsBody = z
  .strictObject({
    usageDetailDays: days(RETENTION_BOUNDS.usageDetailDays).optional(),
    hourlyRollupDays: days(RETENTION_BOUNDS.hourlyRollupDays).optional(),
    playgroundDays: days(RETENTION_BOUNDS.playgroundDays).optional(),
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), "send at least one field to change");
export type RetentionSettingsBody = z.output<typeof retentionSettingsBody>;

/** An organization's owners and admins shorten its own: null goes back to the platform's. */
export const orgRetentionBody = z
  .strictObject({
    usageDetailDays: days(RETENTION_BOUNDS.orgDays).nullable().optional(),
    playgroundDays: days(RETENTION_BOUNDS.orgDays).nullable().optional(),
  })
  .refine(
    (v) => v.usageDetailDays !== undefined || v.playgroundDays !== undefined,
    "send at least one field to change",
  );
export type OrgRetentionBody = z.output<typeof orgRetentionBody>;

/** Running retention by hand takes no options: it stands at the present and follows the policy. */
export const runRetentionBody = z.strictObject({});
