"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Trash2, TriangleAlert } from "lucide-react";
import { useState } from "react";
import { usd } from "@/components/billing/format";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { QueryError } from "@/components/ui/data-table";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import Link from "@/components/ui/link";
import { toast } from "@/components/ui/sonner";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableMessage,
  TableRow,
  TableTimeCell,
  TableTruncate,
} from "@/components/ui/table";
import { UtcTime } from "@/components/ui/utc-time";
import type { AlertEpisode, AlertRule, AlertSettings } from "@/lib/analytics/alerts";
import { FLAGGED_SAFETY_SCORE } from "@/lib/analytics/schemas";
import { parseUsd } from "@/lib/billing/money";
import type { Json } from "@/lib/json";
import { api, fieldErrors } from "@/lib/ui/api";

type Rule = Json<AlertRule>;
type Episode = Json<AlertEpisode>;

type Metric = Rule["metric"];

/** A threshold as people read it: dollars per hour, dollars charged above reservations, or a percentage. The
 * rule's metric says which (an overrun's amount is plain dollars: "over" is the banner's word for the threshold). */
export function formatThreshold(metric: string, value: number | string | null) {
  if (value === null) return "—";
  if (metric === "spend_rate") return `${usd(value)}/h`;
  if (metric === "overrun") return usd(value);
  return `${(Number(value) / 100).toFixed(2)} %`;
}

/** What a rule watches, in words. */
const METRIC_LABELS: Record<Metric, string> = {
  spend_rate: "spend rate",
  error_rate: "error rate",
  overrun: "charges above their reservation",
  unsafe_rate: `calls flagged unsafe (safety score ≥ ${FLAGGED_SAFETY_SCORE})`,
};

/** The measures given as a percentage of the window's calls (basis points on the wire). */
const RATE_METRICS = new Set<Metric>(["error_rate", "unsafe_rate"]);

const useEpisodes = (state: "open" | "all") =>
  useQuery({
    queryKey: ["alerts", state],
    queryFn: () => api<{ items: Episode[] }>(`/api/v1/alerts?state=${state}`),
    refetchInterval: 30_000,
  });

/** The banner every admin page shows while an alert is open. */
export function AlertBanner() {
  const { data } = useEpisodes("open");
  const open = data?.items ?? [];
  if (!open.length) return null;
  const critical = open.some((e) => e.severity === "critical");
  return (
    <div
      role="alert"
      data-testid="alert-banner"
      className={`mb-4 flex items-center gap-3 rounded-md border px-4 py-2 text-sm ${
        critical
          ? "border-destructive/50 bg-destructive/10 text-destructive"
          : "border-amber-500/50 bg-amber-500/10"
      }`}
    >
      <TriangleAlert className="size-4 shrink-0" />
      <span className="flex-1">
        {open.length === 1
          ? `${open[0]!.ruleName}: ${formatThreshold(open[0]!.metric, open[0]!.lastValue)} (over ${formatThreshold(open[0]!.metric, open[0]!.threshold)})`
          : `${open.length} alerts open`}
      </span>
      <Link href="/admin/alerts" className="font-medium underline">
        See alerts
      </Link>
    </div>
  );
}

function RuleForm({ onDone }: { onDone: () => void }) {
  const qc = useQueryClient();
  const [metric, setMetric] = useState<Metric>("spend_rate");
  const [form, setForm] = useState({
    name: "",
    scope: "platform",
    target: "",
    warn: "",
    critical: "",
    window: "60",
  });
  const create = useMutation({
    mutationFn: () => {
      const threshold = (text: string) => {
        if (!text.trim()) return null;
        if (!RATE_METRICS.has(metric)) {
          const micros = parseUsd(text);
          return micros === null ? text : micros.toString();
        }
        return String(Math.round(Number(text) * 100));
      };
      return api<{ rule: Rule }>("/api/v1/alerts/rules", {
        body: {
          name: form.name,
          scope: form.scope,
          metric,
          userId: form.scope === "user" ? form.target : null,
          keyId: form.scope === "key" ? form.target : null,
          windowMinutes: Number(form.window),
          warnThreshold: threshold(form.warn),
          criticalThreshold: threshold(form.critical),
        },
      });
    },
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["alert-rules"] });
      toast.success("Rule created");
      onDone();
    },
  });
  const errors = fieldErrors(create.error);
  const unit =
    metric === "spend_rate"
      ? "USD per hour"
      : metric === "overrun"
        ? "USD charged above reservations"
        : metric === "unsafe_rate"
          ? "% of calls flagged"
          : "% of calls failed";
  return (
    <form
      className="grid gap-3 rounded-md border p-4"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <FormError message={create.error && !Object.keys(errors).length ? create.error.message : null} />
      <div className="grid gap-3 md:grid-cols-3">
        <Field id="rule-name" label="Name" error={errors.name}>
          <Input
            id="rule-name"
            value={form.name}
            onChange={(e) => setForm({ ...form, name: e.target.value })}
          />
        </Field>
        <Field id="rule-metric" label="Measure">
          <select
            id="rule-metric"
            className="h-9 rounded-md border border-input bg-background px-2 text-sm"
            value={metric}
            onChange={(e) => setMetric(e.target.value as Metric)}
          >
            <option value="spend_rate">Spend rate</option>
            <option value="error_rate">Error rate</option>
            <option value="overrun">Charges above reservation</option>
            <option value="unsafe_rate">Unsafe rate (flagged calls)</option>
          </select>
        </Field>
        <Field id="rule-scope" label="Watch" error={errors.userId ?? errors.keyId}>
          <div className="flex gap-2">
            <select
              id="rule-scope"
              className="h-9 rounded-md border border-input bg-background px-2 text-sm"
              value={form.scope}
              onChange={(e) => setForm({ ...form, scope: e.target.value })}
            >
              <option value="platform">Whole platform</option>
              <option value="user">One user (id)</option>
              <option value="key">One key (id)</option>
            </select>
            {form.scope !== "platform" ? (
              <Input
                aria-label="User or key id"
                placeholder="uuid"
                value={form.target}
                onChange={(e) => setForm({ ...form, target: e.target.value })}
              />
            ) : null}
          </div>
        </Field>
        <Field id="rule-warn" label={`Warning at (${unit})`} error={errors.warnThreshold}>
          <Input
            id="rule-warn"
            value={form.warn}
            onChange={(e) => setForm({ ...form, warn: e.target.value })}
          />
        </Field>
        <Field id="rule-critical" label={`Critical at (${unit})`} error={errors.criticalThreshold}>
          <Input
            id="rule-critical"
            value={form.critical}
            onChange={(e) => setForm({ ...form, critical: e.target.value })}
          />
        </Field>
        <Field id="rule-window" label="Window (minutes)" error={errors.windowMinutes}>
          <Input
            id="rule-window"
            value={form.window}
            onChange={(e) => setForm({ ...form, window: e.target.value })}
          />
        </Field>
      </div>
      <div className="flex justify-end gap-2">
        <Button type="button" variant="ghost" onClick={onDone}>
          Cancel
        </Button>
        <Button type="submit" disabled={create.isPending}>
          Create rule
        </Button>
      </div>
    </form>
  );
}

function Rules() {
  const qc = useQueryClient();
  const [adding, setAdding] = useState(false);
  const { data, error, isLoading, refetch } = useQuery({
    queryKey: ["alert-rules"],
    queryFn: () => api<{ items: Rule[] }>("/api/v1/alerts/rules"),
  });
  const patch = useMutation({
    mutationFn: ({ id, body }: { id: string; body: Record<string, unknown> }) =>
      api(`/api/v1/alerts/rules/${id}`, { method: "PATCH", body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["alert-rules"] }),
    onError: (e) => toast.error(e.message),
  });
  const remove = useMutation({
    mutationFn: (id: string) => api(`/api/v1/alerts/rules/${id}`, { method: "DELETE" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["alert-rules"] }),
  });
  return (
    <Card>
      <CardHeader className="flex flex-row flex-wrap items-start justify-between gap-3">
        <div>
          <CardTitle>Rules</CardTitle>
          <CardDescription>
            Evaluated every minute. A rule fires once when its value crosses a threshold, escalates once to
            critical, and re-arms only after it is back under the warning line.
          </CardDescription>
        </div>
        {!adding ? <Button onClick={() => setAdding(true)}>New rule</Button> : null}
      </CardHeader>
      <CardContent className="grid gap-3">
        {adding ? <RuleForm onDone={() => setAdding(false)} /> : null}
        {error ? <QueryError error={error} retry={() => refetch()} /> : null}
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>Rule</TableHead>
              <TableHead>Watches</TableHead>
              <TableHead>Warning</TableHead>
              <TableHead>Critical</TableHead>
              <TableHead>Window</TableHead>
              <TableHead>State</TableHead>
              <TableHead className="text-right">Actions</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {isLoading ? (
              <TableMessage colSpan={7}>Loading…</TableMessage>
            ) : !data?.items.length ? (
              <TableMessage colSpan={7}>
                No rules. Create one to be told when spend or errors run away.
              </TableMessage>
            ) : (
              data.items.map((r) => (
                <TableRow key={r.id} data-testid="alert-rule-row">
                  <TableCell>
                    <div className="font-medium">{r.name}</div>
                    <div className="text-xs text-muted-foreground">
                      {RATE_METRICS.has(r.metric)
                        ? `${METRIC_LABELS[r.metric]}, from ${r.minCalls} calls`
                        : METRIC_LABELS[r.metric]}
                    </div>
                  </TableCell>
                  <TableCell>
                    {r.scope === "platform" ? (
                      "whole platform"
                    ) : (
                      <TableTruncate text={r.userEmail ?? r.keyLabel ?? ""} />
                    )}
                  </TableCell>
                  <TableCell>{formatThreshold(r.metric, r.warnThreshold)}</TableCell>
                  <TableCell>{formatThreshold(r.metric, r.criticalThreshold)}</TableCell>
                  <TableCell>{r.windowMinutes} min</TableCell>
                  <TableCell>
                    {!r.enabled ? (
                      <Badge variant="outline">off</Badge>
                    ) : r.firing ? (
                      <Badge variant="destructive">{r.firing}</Badge>
                    ) : (
                      <Badge variant="secondary">armed</Badge>
                    )}
                  </TableCell>
                  <TableCell className="text-right">
                    <div className="flex justify-end gap-1">
                      <Button
                        size="sm"
                        variant="outline"
                        onClick={() => patch.mutate({ id: r.id, body: { enabled: !r.enabled } })}
                      >
                        {r.enabled ? "Switch off" : "Switch on"}
                      </Button>
                      <Button
                        size="sm"
                        variant="ghost"
                        aria-label={`Delete ${r.name}`}
                        title="Delete"
                        onClick={() => remove.mutate(r.id)}
                      >
                        <Trash2 className="size-4" />
                      </Button>
                    </div>
                  </TableCell>
                </TableRow>
              ))
            )}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}

function Episodes() {
  const { data, error, isLoading, refetch } = useEpisodes("all");
  return (
    <Card>
      <CardHeader>
        <CardTitle>Alerts</CardTitle>
        <CardDescription>
          Open first, then the most recent; each notice is sent once per alert.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {error ? <QueryError error={error} retry={() => refetch()} /> : null}
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>Opened</TableHead>
              <TableHead>Rule</TableHead>
              <TableHead>Severity</TableHead>
              <TableHead>Peak · now</TableHead>
              <TableHead>Resolved</TableHead>
              <TableHead>Webhook</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {isLoading ? (
              <TableMessage colSpan={6}>Loading…</TableMessage>
            ) : !data?.items.length ? (
              <TableMessage colSpan={6}>Nothing has fired yet.</TableMessage>
            ) : (
              data.items.map((e) => (
                <TableRow key={e.id} data-testid="alert-episode-row">
                  <TableTimeCell iso={e.openedAt} />
                  <TableCell>
                    <TableTruncate text={e.ruleName} />
                    {e.target ? (
                      <TableTruncate text={e.target} className="text-xs text-muted-foreground" />
                    ) : null}
                  </TableCell>
                  <TableCell>
                    <Badge variant={e.peakSeverity === "critical" ? "destructive" : "secondary"}>
                      {e.peakSeverity}
                    </Badge>
                  </TableCell>
                  <TableCell className="tabular-nums">
                    {formatThreshold(e.metric, e.value)} · {formatThreshold(e.metric, e.lastValue)}
                  </TableCell>
                  <TableCell className="text-xs text-muted-foreground">
                    {e.clearedAt ? <UtcTime at={e.clearedAt} /> : <Badge variant="destructive">open</Badge>}
                  </TableCell>
                  <TableCell className="text-xs">
                    {e.deliveries.length
                      ? e.deliveries
                          .map(
                            (d) => `${d.event}: ${d.status}${d.attempts > 1 ? ` (${d.attempts} tries)` : ""}`,
                          )
                          .join(", ")
                      : "—"}
                  </TableCell>
                </TableRow>
              ))
            )}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}

function Delivery() {
  const qc = useQueryClient();
  const { data } = useQuery({
    queryKey: ["alert-settings"],
    queryFn: () => api<{ settings: Json<AlertSettings> }>("/api/v1/alerts/settings"),
  });
  const [url, setUrl] = useState<string | null>(null);
  const [reveal, setReveal] = useState(false);
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) => api("/api/v1/alerts/settings", { method: "PATCH", body }),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["alert-settings"] });
      toast.success("Saved");
      setUrl(null);
    },
  });
  const current = data?.settings;
  const errors = fieldErrors(save.error);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Delivery</CardTitle>
        <CardDescription>
          Notices are POSTed as JSON to this URL, signed like Tollgate's usage webhooks:{" "}
          <code>x-tollgate-signature: t=…,v1=HMAC-SHA256(secret, "t.body")</code>; retried with backoff until
          answered 2xx.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        <form
          className="flex flex-wrap items-end gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate({ webhookUrl: (url ?? current?.webhookUrl ?? "").trim() || null });
          }}
        >
          <Field id="alert-url" label="Webhook URL" error={errors.webhookUrl} className="flex-1">
            <Input
              id="alert-url"
              placeholder="https://ops.example.com/hooks/tollgate (empty: no notices)"
              value={url ?? current?.webhookUrl ?? ""}
              onChange={(e) => setUrl(e.target.value)}
            />
          </Field>
          <Button type="submit" disabled={save.isPending}>
            Save
          </Button>
        </form>
        <div className="flex items-center gap-2 text-sm">
          <span className="text-muted-foreground">Signing secret</span>
          <code className="rounded bg-muted px-2 py-1 text-xs">
            {current ? (reveal ? current.signingSecret : `${current.signingSecret.slice(0, 6)}…`) : "…"}
          </code>
          <Button size="sm" variant="outline" onClick={() => setReveal(!reveal)}>
            {reveal ? "Hide" : "Reveal"}
          </Button>
          <Button size="sm" variant="ghost" onClick={() => save.mutate({ rotateSecret: true })}>
            Rotate
          </Button>
        </div>
        {current?.webhookUrl ? null : (
          <p className="text-xs text-muted-foreground">
            No URL set: alerts show here and in the banner only.
          </p>
        )}
      </CardContent>
    </Card>
  );
}

export function AlertsPanel() {
  return (
    <div className="grid grid-cols-1 gap-4">
      <Episodes />
      <Rules />
      <Delivery />
    </div>
  );
}
