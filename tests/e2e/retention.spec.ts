// Data retention in the browser, on the real stack (issue 27 part 3): two days of a developer's calls long past the
// platform's 90 days — one settled, one not — and a retention run as the daily job makes it; the admin's Data
// retention page shows the policy, the partitions with their state and when they leave, and the run that dropped the
// settled day and refused the other (and why); the admin changes the policy; an organization's owner shortens the
// organization's own on its settings page and is refused more than the platform keeps. Screenshots at 1280 and
// 390 px, nothing wider than the window, no card or cell spilling.
import { randomUUID } from "node:crypto";
import { expect, type Page, test } from "@playwright/test";
import { settleUsage } from "@/lib/billing/settle";
import { createClient, type Sql } from "@/lib/db/client";
import { runRetention } from "@/lib/retention/run";
import { finalizeRun, runChunk } from "@/lib/settlement/run";
import { compactUsagePartitions } from "@/lib/usage/compact";
import { event, seedPricedModel } from "../helpers/billing";
import { dayPartition } from "../helpers/partitions";
import { fundedDeveloper, navLink, signedInAs, signIn, snap } from "./helpers";

const PASSWORD = "retention-e2e-password";
const DAY_MS = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Runs `fn` in one transaction standing at `moment` (the platform's clock, tollgate_now()). */
const at = <T>(sql: Sql, moment: string, fn: (tx: Sql) => Promise<T>) =>
  sql.begin(async (tx) => {
    await tx`select set_config('tollgate.now', ${moment}, true)`;
    return fn(tx as unknown as Sql);
  }) as Promise<T>;

/** Nothing wider than the window; no card or table cell whose content spills out of it. */
async function expectNothingClipped(page: Page) {
  const spills = await page.evaluate(() => {
    const out: string[] = [];
    if (document.documentElement.scrollWidth > window.innerWidth)
      out.push(`page ${document.documentElement.scrollWidth}px in ${window.innerWidth}px`);
    for (const el of document.querySelectorAll<HTMLElement>("[data-slot=card], td, th")) {
      if (el.clientWidth === 0 || el.closest("[title]")) continue;
      if (el.scrollWidth > el.clientWidth + 1)
        out.push(
          `${el.tagName} "${(el.textContent ?? "").slice(0, 40)}" ${el.scrollWidth}px in ${el.clientWidth}px`,
        );
    }
    return out;
  });
  expect(spills).toEqual([]);
}

test("admins see what is kept and for how long; an organization keeps less than the platform, never more", async ({
  browser,
}) => {
  test.setTimeout(180_000);
  const sql = createClient({ url: process.env.E2E_DATABASE_URL!, max: 1 });
  try {
    const [clock] = await sql<{ ms: number }[]>`select (extract(epoch from now()) * 1000)::float8 as ms`;
    const today = Date.parse(`${dayOf(clock!.ms)}T00:00:00Z`);
    const settled = dayOf(today - 120 * DAY_MS);
    const unsettled = dayOf(today - 121 * DAY_MS);
    // A closed day well inside the 90 days: the compaction job rebuilds its indexes packed (docs/adr/0027).
    const closed = dayOf(today - 60 * DAY_MS);
    for (const day of [settled, unsettled, closed]) {
      await dayPartition(sql, day);
    }
    const model = `ret-e2e-${randomUUID().slice(0, 6)}`;
    await seedPricedModel(sql, model, undefined, 4096, { effectiveFrom: new Date(today - 200 * DAY_MS) });
    const dev = await fundedDeveloper(sql, {
      prefix: "retention-dev",
      keyName: "old calls",
      password: PASSWORD,
    });
    for (const day of [settled, unsettled, closed]) {
      const moment = `${day}T12:00:00.000Z`;
      await at(sql, moment, (tx) =>
        settleUsage(
          tx,
          Array.from({ length: 3 }, () =>
            event(dev.keyId, `ret-${randomUUID()}`, {
              modelGroup: model,
              startedAt: moment,
              endedAt: moment,
            }),
          ),
        ),
      );
    }
    // The settled day's settlement, as its queue jobs run it (one chunk over every account, then the finalize).
    const [run] = await sql<{ id: string }[]>`
      insert into settlement_runs (day, trigger, jobs_total) values (${settled}, 'manual', 2) returning id`;
    await runChunk(
      sql,
      {
        runId: run!.id,
        day: settled,
        fromAccount: "00000000-0000-0000-0000-000000000000",
        toAccount: "ffffffff-ffff-ffff-ffff-ffffffffffff",
      },
      { replay: async () => [], policy: "release", graceMinutes: 60 },
    );
    await finalizeRun(sql, run!.id);
    const summary = await runRetention(sql, { trigger: "cron" });
    expect(summary.refused).toContainEqual({ day: unsettled, reason: "not_settled" });
    const compaction = await compactUsagePartitions(sql);
    expect(compaction.compacted.map((c) => c.day)).toContain(closed);

    // The organization and its owner, for the organization's own policy.
    const owner = await fundedDeveloper(sql, {
      prefix: "retention-owner",
      keyName: "personal",
      amountMicros: 0n,
      password: PASSWORD,
    });
    const { createOrg } = await import("@/lib/orgs/create");
    const org = await createOrg(
      sql,
      { userId: owner.userId, kind: "user", role: "developer" },
      { name: `Retention Co ${randomUUID().slice(0, 6)}` },
    );

    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 390, height: 844 },
    ]) {
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      await signedInAs(page, "admin");
      if (viewport.width >= 1024) await navLink(page, "Data retention").click();
      else await page.goto("/admin/settings/retention");
      await expect(page.getByRole("heading", { name: "Data retention" })).toBeVisible();
      await expect(page.getByLabel("Usage detail")).toHaveValue("90");
      await expect(page.getByLabel("Hourly roll-ups")).toHaveValue("730");
      const partitions = page.getByTestId("retention-partitions");
      // The dropped day is gone; the refused one is listed, not settled, refused and why, leaving on its date.
      await expect(partitions.locator(`[data-day="${settled}"]`)).toHaveCount(0);
      const refusedRow = partitions.locator(`[data-day="${unsettled}"]`);
      await expect(refusedRow).toContainText("not settled");
      await expect(refusedRow).toContainText("refused: not settled yet");
      await expect(refusedRow).toContainText(dayOf(Date.parse(`${unsettled}T00:00:00Z`) + 91 * DAY_MS));
      await expect(partitions.locator(`[data-day="${closed}"]`)).toContainText("compacted");
      await expect(page.getByText(/\(\d+ days? compacted/)).toBeVisible();
      const runRow = page.getByTestId("retention-runs").locator(`[data-run="${summary.runId}"]`);
      await expect(runRow).toContainText("completed");
      await expect(runRow).toContainText(`${unsettled}: not settled yet`);
      await expect(runRow).toContainText(`${summary.partitionsDropped} d`);
      await expectNothingClipped(page);
      await snap(page, `retention-admin-${viewport.width}`);
      await context.close();
    }

    // The admin shortens conversations; a policy whose roll-ups would die before the detail is refused.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await signedInAs(page, "admin", "/admin/settings/retention");
    await page.getByLabel("Hourly roll-ups").fill("60");
    await page.getByRole("button", { name: "Save policy" }).click();
    await expect(page.getByText("must be at least usageDetailDays")).toBeVisible();
    await page.getByLabel("Hourly roll-ups").fill("730");
    await page.getByLabel("Playground conversations").fill("21");
    await page.getByRole("button", { name: "Save policy" }).click();
    await expect(page.getByText("Retention policy saved")).toBeVisible();
    await page.reload();
    await expect(page.getByLabel("Playground conversations")).toHaveValue("21");
    await context.close();

    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 390, height: 844 },
    ]) {
      const ownerContext = await browser.newContext({ viewport });
      const ownerPage = await ownerContext.newPage();
      await signIn(ownerPage, owner.email, PASSWORD, `/orgs/${org.slug}/settings`);
      const section = ownerPage.getByTestId("org-retention");
      if (viewport.width >= 1024) {
        await expect(section).toContainText("kept 90 days");
        await section.getByLabel("Usage detail (days)").fill("120");
        await section.getByRole("button", { name: "Save retention" }).click();
        await expect(section.getByText("at most the platform's 90 days")).toBeVisible();
        await section.getByLabel("Usage detail (days)").fill("30");
        await section.getByRole("button", { name: "Save retention" }).click();
        await expect(ownerPage.getByText("Data retention saved")).toBeVisible();
        await expect(section).toContainText("kept 30 days");
      } else {
        await expect(section).toContainText("kept 30 days");
      }
      await expectNothingClipped(ownerPage);
      await snap(ownerPage, `retention-org-${viewport.width}`);
      await ownerContext.close();
    }
    const [audit] = await sql`
      select count(*)::int as n from audit_log where action = 'retention.organization' and target_id = ${org.id}`;
    expect(audit!.n).toBe(1);
  } finally {
    await sql.end();
  }
});
