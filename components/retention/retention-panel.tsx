"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
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
} from "@/components/ui/table";
import { TableScroller } from "@/components/ui/table-scroller";
import { UtcTime } from "@/components/ui/utc-time";
import type { Json } from "@/lib/json";
import { RETENTION_BOUNDS, type RetentionSettingsBody } from "@/lib/retention/schemas";
import type { PartitionDay, RetentionOverview } from "@/lib/retention/views";
import { api, fieldErrors } from "@/lib/ui/api";

/** Bytes as the page shows them: B, kB, MB, GB (powers of 1024). */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

const REASONS: Record<string, string> = {
  not_settled: "not settled yet",
  settlement_running: "settlement still running",
  rollups_disagree: "roll-ups disagree with the detail",
  late_rows: "rows arrived while it was detached",
  failed: "could not be detached (lock or error)",
};

/** " (N days compacted, X saved)" when closed days kept were compacted; the saving only when there is one. */
function compactedNote(c: Json<RetentionOverview>["compaction"]): string {
  if (!c.days) return "";
  const saved = c.bytesBefore - c.bytesAfter;
  return ` (${c.days} ${c.days === 1 ? "day" : "days"} compacted${saved > 0 ? `, ${formatBytes(saved)} saved` : ""})`;
}

function SettlementBadge({ state }: { state: PartitionDay["settlement"] }) {
  if (state === "completed") return <Badge variant="success">settled</Badge>;
  if (state === "none") return <Badge variant="outline">not settled</Badge>;
  return <Badge variant="warning">{state}</Badge>;
}

function CheckBadge({ check }: { check: Json<PartitionDay>["lastCheck"] }) {
  if (!check) return <span className="text-xs text-muted-foreground">when due</span>;
  if (check.ok) return <Badge variant="success">verified</Badge>;
  return (
    <Badge variant="destructive" title={check.reason ?? undefined}>
      refused: {REASONS[check.reason ?? ""] ?? check.reason}
    </Badge>
  );
}

function PolicyForm({ settings }: { settings: Json<RetentionOverview>["settings"] }) {
  const router = useRouter();
  const [form, setForm] = useState({
    usageDetailDays: String(settings.usageDetailDays),
    hourlyRollupDays: String(settings.hourlyRollupDays),
    playgroundDays: String(settings.playgroundDays),
  });
  const save = useMutation({
    mutationFn: (body: RetentionSettingsBody) => api("/api/v1/retention", { method: "PATCH", body }),
    onSuccess: () => {
      toast.success("Retention policy saved");
      router.refresh();
    },
  });
  const errors = fieldErrors(save.error);
  const set = (field: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [field]: e.target.value }));
  return (
    <Card>
      <CardHeader>
        <CardTitle>Platform policy</CardTitle>
        <CardDescription>
          How long each kind of data is kept, in days. The ledger, balances and daily roll-ups are kept
          forever. An organization may keep its own detail and conversations for less, never longer.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="grid gap-4"
          data-testid="retention-policy"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate({
              usageDetailDays: Number(form.usageDetailDays),
              hourlyRollupDays: Number(form.hourlyRollupDays),
              playgroundDays: Number(form.playgroundDays),
            });
          }}
        >
          <FormError message={save.error && !Object.keys(errors).length ? save.error.message : null} />
          <div className="grid gap-4 sm:grid-cols-3">
            <Field
              id="retention-detail"
              label="Usage detail"
              hint="Each call's row; leaves by whole days."
              error={errors.usageDetailDays}
            >
              <Input
                id="retention-detail"
                type="number"
                inputMode="numeric"
                min={RETENTION_BOUNDS.usageDetailDays.min}
                max={RETENTION_BOUNDS.usageDetailDays.max}
                value={form.usageDetailDays}
                onChange={set("usageDetailDays")}
              />
            </Field>
            <Field
              id="retention-hourly"
              label="Hourly roll-ups"
              hint="Charts by hour; at least the detail's days."
              error={errors.hourlyRollupDays}
            >
              <Input
                id="retention-hourly"
                type="number"
                inputMode="numeric"
                min={RETENTION_BOUNDS.hourlyRollupDays.min}
                max={RETENTION_BOUNDS.hourlyRollupDays.max}
                value={form.hourlyRollupDays}
                onChange={set("hourlyRollupDays")}
              />
            </Field>
            <Field
              id="retention-playground"
              label="Playground conversations"
              hint="Days after their last change."
              error={errors.playgroundDays}
            >
              <Input
                id="retention-playground"
                type="number"
                inputMode="numeric"
                min={RETENTION_BOUNDS.playgroundDays.min}
                max={RETENTION_BOUNDS.playgroundDays.max}
                value={form.playgroundDays}
                onChange={set("playgroundDays")}
              />
            </Field>
          </div>
          <div>
            <Button type="submit" disabled={save.isPending}>
              Save policy
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}

/** Admin → Settings → Data retention: the policy, what each usage partition holds and when it leaves, the runs. */
export function RetentionPanel({ overview }: { overview: Json<RetentionOverview> }) {
  const router = useRouter();
  const run = useMutation({
    mutationFn: () => api<{ created: boolean }>("/api/v1/retention/run", { method: "POST", body: {} }),
    onSuccess: (r) => {
      toast.success(
        r.created ? "Retention queued: the next drain runs it" : "Today's retention is already queued",
      );
      router.refresh();
    },
    onError: (e) => toast.error(e.message),
  });
  const days = overview.partitions;
  const today = overview.asOf.slice(0, 10);
  return (
    <div className="grid min-w-0 grid-cols-1 gap-6">
      <PolicyForm settings={overview.settings} />
      <Card className="min-w-0">
        <CardHeader>
          <CardTitle>Usage partitions</CardTitle>
          <CardDescription>
            {overview.partitioned
              ? `One partition per UTC day, ${formatBytes(overview.totalBytes)} in all. Two days after a day ends its indexes are rebuilt packed${compactedNote(overview.compaction)}. A day leaves whole, on the date shown, only once its settlement has run and its detail equals its roll-ups; otherwise it stays and the run says why.`
              : "Usage detail is not partitioned yet: nothing leaves by day until it is."}
          </CardDescription>
        </CardHeader>
        <CardContent>
          <TableScroller>
            <Table data-testid="retention-partitions">
              <TableHeader>
                <TableRow>
                  <TableHead>Day</TableHead>
                  <TableHead className="hidden text-right sm:table-cell">Rows (est.)</TableHead>
                  <TableHead className="text-right">Size</TableHead>
                  <TableHead className="hidden sm:table-cell">Settlement</TableHead>
                  <TableHead className="hidden sm:table-cell">Check</TableHead>
                  <TableHead className="hidden sm:table-cell">Leaves on</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {days.length === 0 ? <TableMessage colSpan={6}>No partitions.</TableMessage> : null}
                {days.map((p) => {
                  const leaves = p.dropsOn ? (
                    <span className="tabular-nums">
                      {p.dropsOn}
                      {p.dropsOn <= today ? " (due)" : ""}
                    </span>
                  ) : (
                    "moved out daily"
                  );
                  return (
                    <TableRow key={p.name} data-day={p.day ?? "default"}>
                      <TableCell className="font-medium tabular-nums">
                        <span title={p.name}>
                          {p.isDefault ? "Default (any day)" : p.day}
                          {p.days > 1 ? ` +${p.days - 1} d` : ""}
                        </span>
                        {/* On a phone the state folds under the day instead of three more columns. */}
                        {p.isDefault ? null : (
                          <div className="mt-1 flex flex-wrap gap-1 font-normal sm:hidden">
                            <SettlementBadge state={p.settlement} />
                            <CheckBadge check={p.lastCheck} />
                            <span className="text-xs text-muted-foreground">
                              ≈ {p.estimatedRows === null ? "—" : p.estimatedRows.toLocaleString("en-US")}{" "}
                              rows · leaves {leaves}
                            </span>
                          </div>
                        )}
                      </TableCell>
                      <TableCell className="hidden text-right tabular-nums sm:table-cell">
                        {p.estimatedRows === null ? (
                          <span title="Not analyzed yet">—</span>
                        ) : (
                          p.estimatedRows.toLocaleString("en-US")
                        )}
                      </TableCell>
                      <TableCell className="text-right tabular-nums">
                        {formatBytes(p.bytes)}
                        {p.compacted ? (
                          <div
                            className="text-xs text-muted-foreground"
                            title={`${p.compacted.indexes} of ${p.compacted.of} indexes rebuilt packed once the day closed`}
                          >
                            compacted
                            {p.compacted.bytesBefore > p.compacted.bytesAfter
                              ? ` −${formatBytes(p.compacted.bytesBefore - p.compacted.bytesAfter)}`
                              : ""}
                          </div>
                        ) : null}
                      </TableCell>
                      <TableCell className="hidden sm:table-cell">
                        {p.isDefault ? "—" : <SettlementBadge state={p.settlement} />}
                      </TableCell>
                      <TableCell className="hidden sm:table-cell">
                        {p.isDefault ? "—" : <CheckBadge check={p.lastCheck} />}
                      </TableCell>
                      <TableCell className="hidden sm:table-cell">{leaves}</TableCell>
                    </TableRow>
                  );
                })}
              </TableBody>
            </Table>
          </TableScroller>
        </CardContent>
      </Card>
      <Card className="min-w-0">
        <CardHeader>
          <CardTitle>Last runs</CardTitle>
          <CardDescription>
            The daily job (after settlement) and runs started here: partitions dropped, days refused and why,
            organizations' rows trimmed, hourly roll-ups and conversations removed.
          </CardDescription>
          <div>
            <Button size="sm" variant="outline" disabled={run.isPending} onClick={() => run.mutate()}>
              Run retention now
            </Button>
          </div>
        </CardHeader>
        <CardContent>
          <TableScroller>
            <Table data-testid="retention-runs">
              <TableHeader>
                <TableRow>
                  <TableHead className="hidden sm:table-cell">Started</TableHead>
                  <TableHead>Status</TableHead>
                  <TableHead className="hidden text-right sm:table-cell">Dropped</TableHead>
                  <TableHead className="hidden text-right sm:table-cell">Trimmed</TableHead>
                  <TableHead>Refused</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {overview.runs.length === 0 ? <TableMessage colSpan={5}>No run yet.</TableMessage> : null}
                {overview.runs.map((r) => {
                  const refused = r.actions.filter((a) => a.action === "refused");
                  return (
                    <TableRow key={r.id} data-run={r.id}>
                      <TableCell className="hidden text-xs text-muted-foreground sm:table-cell">
                        <UtcTime at={r.startedAt} />
                      </TableCell>
                      <TableCell>
                        <div className="mb-1 text-xs text-muted-foreground sm:hidden">
                          <UtcTime at={r.startedAt} />
                        </div>
                        <Badge
                          variant={
                            r.status === "completed"
                              ? "success"
                              : r.status === "failed"
                                ? "destructive"
                                : "warning"
                          }
                        >
                          {r.status}
                        </Badge>
                      </TableCell>
                      <TableCell className="hidden text-right tabular-nums sm:table-cell">
                        {r.partitionsDropped} d · {formatBytes(r.bytesDropped)}
                      </TableCell>
                      <TableCell className="hidden text-right tabular-nums sm:table-cell">
                        {r.orgRowsTrimmed.toLocaleString("en-US")} rows
                      </TableCell>
                      <TableCell className="max-w-80 whitespace-normal text-xs">
                        <div className="mb-1 text-muted-foreground sm:hidden">
                          dropped {r.partitionsDropped} d · {formatBytes(r.bytesDropped)}, trimmed{" "}
                          {r.orgRowsTrimmed.toLocaleString("en-US")} rows
                        </div>
                        {refused.length === 0
                          ? "none"
                          : refused.map((a) => (
                              <div key={`${a.day}-${a.partition}`}>
                                {a.day}: {REASONS[a.reason ?? ""] ?? a.reason}
                              </div>
                            ))}
                        {r.error ? <div className="text-destructive">{r.error}</div> : null}
                      </TableCell>
                    </TableRow>
                  );
                })}
              </TableBody>
            </Table>
          </TableScroller>
          <p className="mt-3 text-xs text-muted-foreground">
            Standing at <UtcTime at={overview.asOf} />.
          </p>
        </CardContent>
      </Card>
      {overview.organizations.length ? (
        <Card className="min-w-0">
          <CardHeader>
            <CardTitle>Organizations with a shorter policy</CardTitle>
            <CardDescription>
              Their own rows leave earlier, from days already settled and checked.
            </CardDescription>
          </CardHeader>
          <CardContent>
            <ul className="grid gap-1 text-sm" data-testid="retention-orgs">
              {overview.organizations.map((o) => (
                <li key={o.slug} className="break-words">
                  <span className="font-medium">{o.name}</span>: detail{" "}
                  {o.usageDetailDays ?? overview.settings.usageDetailDays} d, conversations{" "}
                  {o.playgroundDays ?? overview.settings.playgroundDays} d
                </li>
              ))}
            </ul>
          </CardContent>
        </Card>
      ) : null}
    </div>
  );
}
