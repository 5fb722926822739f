"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { TriangleAlert } from "lucide-react";
import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Confirm } from "@/components/ui/confirm";
import { CopyButton } from "@/components/ui/copy-button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
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
import type { Json } from "@/lib/json";
import { api, fieldErrors } from "@/lib/ui/api";
import type { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from "@/lib/webhooks/endpoints";
import { WEBHOOK_EVENT_TYPES, WEBHOOK_EVENTS, type WebhookEventType } from "@/lib/webhooks/schemas";

type EndpointRow = Json<WebhookEndpoint>;
type DeliveryRow = Json<WebhookDelivery>;
type AttemptRow = Json<WebhookAttempt>;

/** Usage webhooks of a person (org null) or an organization: endpoints, their delivery log, resend and replay. */
export function WebhooksPanel({ org }: { org: string | null }) {
  const qc = useQueryClient();
  const query = org ? `?org=${encodeURIComponent(org)}` : "";
  const endpoints = useQuery({
    queryKey: ["webhooks", org],
    queryFn: () => api<{ endpoints: EndpointRow[] }>(`/api/v1/webhooks${query}`),
    // Pending counts and failure states move as the queue sends.
    refetchInterval: 5_000,
  });
  const [secret, setSecret] = useState<{ title: string; value: string } | null>(null);
  const [adding, setAdding] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ["webhooks"] });
  const list = endpoints.data?.endpoints ?? [];
  const current = list.find((e) => e.id === selected) ?? list[0] ?? null;
  return (
    <div className="grid gap-6">
      <Card>
        <CardHeader className="flex flex-row items-start justify-between gap-4">
          <div className="grid gap-1">
            <CardTitle>Endpoints</CardTitle>
            <CardDescription>
              Each event is signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)
              and sent at least once, in call order; receivers deduplicate by webhook-id.
            </CardDescription>
          </div>
          <Button onClick={() => setAdding(true)} data-testid="add-endpoint">
            Add endpoint
          </Button>
        </CardHeader>
        <CardContent>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>URL</TableHead>
                <TableHead>Events</TableHead>
                <TableHead>Delivery</TableHead>
                <TableHead>Status</TableHead>
                <TableHead className="text-right">Pending</TableHead>
                <TableHead />
              </TableRow>
            </TableHeader>
            <TableBody>
              {endpoints.isLoading ? <TableMessage colSpan={6}>Loading…</TableMessage> : null}
              {endpoints.data && !list.length ? (
                <TableMessage colSpan={6}>
                  No endpoints yet: add one to receive your usage as it is charged.
                </TableMessage>
              ) : null}
              {list.map((e) => (
                <EndpointRowView
                  key={e.id}
                  endpoint={e}
                  selected={current?.id === e.id}
                  onSelect={() => setSelected(e.id)}
                  onSecret={(value) => setSecret({ title: "The endpoint's new signing secret", value })}
                  onChanged={refresh}
                />
              ))}
            </TableBody>
          </Table>
        </CardContent>
      </Card>
      {current ? <Deliveries endpoint={current} /> : null}
      <AddEndpointDialog
        open={adding}
        org={org}
        onClose={() => setAdding(false)}
        onCreated={(value) => {
          setAdding(false);
          refresh();
          setSecret({ title: "The endpoint's signing secret", value });
        }}
      />
      <Dialog open={secret !== null} onOpenChange={(o) => (!o ? setSecret(null) : undefined)}>
        <DialogContent className="sm:max-w-2xl">
          <DialogHeader>
            <DialogTitle>{secret?.title}</DialogTitle>
            <DialogDescription className="flex items-center gap-2">
              <TriangleAlert className="size-4 text-warning" />
              Copy it now: it is shown only this once. Verify deliveries with it (see the README's examples).
            </DialogDescription>
          </DialogHeader>
          <div className="flex items-center gap-2">
            <code
              data-testid="endpoint-secret"
              className="flex-1 rounded-md border bg-muted px-3 py-2 font-mono text-sm break-all"
            >
              {secret?.value}
            </code>
            <CopyButton text={secret?.value ?? ""} label="Copy secret" withText />
          </div>
          <DialogFooter>
            <Button onClick={() => setSecret(null)}>Done</Button>
          </DialogFooter>
        </DialogContent>
      </Dialog>
    </div>
  );
}

function EndpointRowView({
  endpoint: e,
  selected,
  onSelect,
  onSecret,
  onChanged,
}: {
  endpoint: EndpointRow;
  selected: boolean;
  onSelect: () => void;
  onSecret: (secret: string) => void;
  onChanged: () => void;
}) {
  const [confirm, setConfirm] = useState<"delete" | "rotate" | null>(null);
  const toggle = useMutation({
    mutationFn: () => api(`/api/v1/webhooks/${e.id}`, { method: "PATCH", body: { enabled: !e.enabled } }),
    onSuccess: onChanged,
    onError: (err) => toast.error((err as Error).message),
  });
  const remove = useMutation({
    mutationFn: () => api(`/api/v1/webhooks/${e.id}`, { method: "DELETE" }),
    onSuccess: () => {
      setConfirm(null);
      onChanged();
    },
  });
  const rotate = useMutation({
    mutationFn: () => api<{ secret: string }>(`/api/v1/webhooks/${e.id}/rotate`, { method: "POST" }),
    onSuccess: (res) => {
      setConfirm(null);
      onChanged();
      onSecret(res.secret);
    },
  });
  return (
    <TableRow data-testid="endpoint-row" data-state={selected ? "selected" : undefined}>
      <TableCell>
        <button
          type="button"
          className="text-left underline underline-offset-2"
          title="Show this endpoint's deliveries"
          onClick={onSelect}
        >
          <TableTruncate text={e.url} className="max-w-80 font-mono text-xs" />
        </button>
        {e.description ? <div className="text-xs text-muted-foreground">{e.description}</div> : null}
      </TableCell>
      <TableCell>
        <div className="flex max-w-64 flex-wrap gap-1">
          {e.eventTypes.map((t) => (
            <Badge key={t} variant="outline">
              {t}
            </Badge>
          ))}
        </div>
      </TableCell>
      <TableCell className="text-xs text-muted-foreground">
        {e.batchMax === 1 ? "one per request" : `batches of ${e.batchMax}`}
      </TableCell>
      <TableCell>
        {e.enabled ? (
          e.failureCount > 0 ? (
            <Badge variant="warning" title={e.nextAttemptAt ? `next attempt ${e.nextAttemptAt}` : undefined}>
              failing ({e.failureCount})
            </Badge>
          ) : (
            <Badge variant="success">on</Badge>
          )
        ) : (
          <Badge variant="destructive" title={e.disabledReason ?? undefined}>
            off
          </Badge>
        )}
        {e.previousSecretExpiresAt ? (
          <div className="text-xs text-muted-foreground">
            old secret signs until {e.previousSecretExpiresAt.slice(0, 16)}Z
          </div>
        ) : null}
      </TableCell>
      <TableCell className="text-right tabular-nums">{e.pending}</TableCell>
      <TableCell>
        <div className="flex justify-end gap-1">
          <Button size="sm" variant="outline" disabled={toggle.isPending} onClick={() => toggle.mutate()}>
            {e.enabled ? "Disable" : "Enable"}
          </Button>
          <Button size="sm" variant="outline" onClick={() => setConfirm("rotate")}>
            Rotate secret
          </Button>
          <Button size="sm" variant="ghost" onClick={() => setConfirm("delete")}>
            Delete
          </Button>
        </div>
        <Confirm
          open={confirm === "rotate"}
          title="Rotate the signing secret?"
          description="A new secret signs from now on; the current one keeps signing beside it for 24 hours, so your receiver can switch over."
          confirmLabel="Rotate"
          pending={rotate.isPending}
          onConfirm={() => rotate.mutate()}
          onCancel={() => setConfirm(null)}
        />
        <Confirm
          open={confirm === "delete"}
          title="Delete this endpoint?"
          description={`Nothing more is sent to ${e.url}, and its delivery log is deleted.`}
          confirmLabel="Delete"
          destructive
          pending={remove.isPending}
          onConfirm={() => remove.mutate()}
          onCancel={() => setConfirm(null)}
        />
      </TableCell>
    </TableRow>
  );
}

function AddEndpointDialog({
  open,
  org,
  onClose,
  onCreated,
}: {
  open: boolean;
  org: string | null;
  onClose: () => void;
  onCreated: (secret: string) => void;
}) {
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [events, setEvents] = useState<WebhookEventType[]>(["call.charged"]);
  const [batchMax, setBatchMax] = useState("1");
  const create = useMutation({
    mutationFn: () =>
      api<{ secret: string }>(`/api/v1/webhooks${org ? `?org=${encodeURIComponent(org)}` : ""}`, {
        body: { url, description, eventTypes: events, batchMax: Number(batchMax) },
      }),
    onSuccess: (res) => {
      setUrl("");
      setDescription("");
      onCreated(res.secret);
    },
  });
  const errors = fieldErrors(create.error);
  return (
    <Dialog open={open} onOpenChange={(o) => (!o ? onClose() : undefined)}>
      <DialogContent className="sm:max-w-xl">
        <DialogHeader>
          <DialogTitle>Add a webhook endpoint</DialogTitle>
          <DialogDescription>
            An HTTPS URL of yours; Tollgate posts the events you choose to it.
          </DialogDescription>
        </DialogHeader>
        <form
          className="grid gap-4"
          onSubmit={(ev) => {
            ev.preventDefault();
            create.mutate();
          }}
        >
          <div className="grid gap-1.5">
            <Label htmlFor="webhook-url">URL</Label>
            <Input
              id="webhook-url"
              value={url}
              onChange={(ev) => setUrl(ev.target.value)}
              placeholder="https://example.com/tollgate"
              required
            />
            {errors.url ? <p className="text-xs text-destructive">{errors.url}</p> : null}
          </div>
          <div className="grid gap-1.5">
            <Label htmlFor="webhook-description">Description (optional)</Label>
            <Input
              id="webhook-description"
              value={description}
              onChange={(ev) => setDescription(ev.target.value)}
            />
          </div>
          <fieldset className="grid gap-2">
            <legend className="mb-1 text-sm font-medium">Events</legend>
            {WEBHOOK_EVENT_TYPES.map((t) => (
              <label key={t} className="flex items-start gap-2 text-sm">
                <input
                  type="checkbox"
                  className="mt-1"
                  checked={events.includes(t)}
                  onChange={(ev) =>
                    setEvents(ev.target.checked ? [...events, t] : events.filter((x) => x !== t))
                  }
                />
                <span>
                  <span className="font-mono">{t}</span>{" "}
                  <span className="text-muted-foreground">{WEBHOOK_EVENTS[t]}</span>
                </span>
              </label>
            ))}
            {errors.eventTypes ? <p className="text-xs text-destructive">{errors.eventTypes}</p> : null}
          </fieldset>
          <div className="grid gap-1.5">
            <Label htmlFor="webhook-batch">Events per request</Label>
            <Input
              id="webhook-batch"
              type="number"
              min={1}
              max={100}
              value={batchMax}
              onChange={(ev) => setBatchMax(ev.target.value)}
              className="w-32"
            />
            <p className="text-xs text-muted-foreground">
              1 sends each event alone; more sends a JSON array of up to that many.
            </p>
          </div>
          {create.error && !errors.url && !errors.eventTypes ? (
            <p className="text-sm text-destructive">{(create.error as Error).message}</p>
          ) : null}
          <DialogFooter>
            <Button type="button" variant="outline" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" disabled={create.isPending || !events.length}>
              Add endpoint
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}

function statusBadge(d: DeliveryRow) {
  if (d.status === "delivered") return <Badge variant="success">delivered</Badge>;
  if (d.status === "failed") return <Badge variant="destructive">failed</Badge>;
  return <Badge variant={d.attempts ? "warning" : "secondary"}>{d.attempts ? "retrying" : "pending"}</Badge>;
}

/** The delivery log of one endpoint: deliveries (resend), attempts (status, latency, the answer's start), replay. */
function Deliveries({ endpoint }: { endpoint: EndpointRow }) {
  const qc = useQueryClient();
  const log = useQuery({
    queryKey: ["webhooks", "deliveries", endpoint.id],
    queryFn: () =>
      api<{ deliveries: DeliveryRow[]; attempts: AttemptRow[] }>(
        `/api/v1/webhooks/${endpoint.id}/deliveries`,
      ),
    refetchInterval: 5_000,
  });
  const resend = useMutation({
    mutationFn: (deliveryId: string) =>
      api(`/api/v1/webhooks/${endpoint.id}/deliveries/${deliveryId}/resend`, { method: "POST" }),
    onSuccess: () => {
      toast.success("Queued to send again");
      qc.invalidateQueries({ queryKey: ["webhooks"] });
    },
    onError: (err) => toast.error((err as Error).message),
  });
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const replay = useMutation({
    mutationFn: () =>
      api<{ created: number }>(`/api/v1/webhooks/${endpoint.id}/replay`, {
        body: { from: `${from}:00Z`, to: `${to}:00Z` },
      }),
    onSuccess: (res) => {
      toast.success(`${res.created} ${res.created === 1 ? "event" : "events"} queued again`);
      qc.invalidateQueries({ queryKey: ["webhooks"] });
    },
  });
  const replayErrors = fieldErrors(replay.error);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Deliveries</CardTitle>
        <CardDescription>
          To <span className="font-mono break-all">{endpoint.url}</span>. A failed delivery is retried with
          backoff for 3 days, then the endpoint is switched off and you are told.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-6">
        <Table data-testid="deliveries">
          <TableHeader>
            <TableRow>
              <TableHead>Event</TableHead>
              <TableHead>Happened</TableHead>
              <TableHead>Status</TableHead>
              <TableHead className="text-right">Attempts</TableHead>
              <TableHead>Last answer</TableHead>
              <TableHead />
            </TableRow>
          </TableHeader>
          <TableBody>
            {log.data && !log.data.deliveries.length ? (
              <TableMessage colSpan={6}>Nothing sent yet.</TableMessage>
            ) : null}
            {log.data?.deliveries.map((d) => (
              <TableRow key={d.id} data-testid="delivery-row">
                <TableCell>
                  <div className="font-mono text-xs">{d.type}</div>
                  <div className="text-xs text-muted-foreground">
                    <TableTruncate text={d.messageId} className="max-w-48" />
                    {d.origin !== "event" ? <Badge variant="outline">{d.origin}</Badge> : null}
                  </div>
                </TableCell>
                <TableTimeCell iso={d.occurredAt} />
                <TableCell>{statusBadge(d)}</TableCell>
                <TableCell className="text-right tabular-nums">{d.attempts}</TableCell>
                <TableCell className="text-xs text-muted-foreground">
                  {d.lastStatus ?? ""} {d.lastError ?? ""}
                </TableCell>
                <TableCell className="text-right">
                  <Button
                    size="sm"
                    variant="outline"
                    disabled={resend.isPending}
                    onClick={() => resend.mutate(d.id)}
                    data-testid="resend"
                  >
                    Resend
                  </Button>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
        <div className="grid gap-2">
          <h3 className="text-sm font-medium">Attempts</h3>
          <Table data-testid="attempts">
            <TableHeader>
              <TableRow>
                <TableHead>When</TableHead>
                <TableHead>Result</TableHead>
                <TableHead className="text-right">Events</TableHead>
                <TableHead className="text-right">Latency</TableHead>
                <TableHead>Answer (first 1 KB)</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {log.data && !log.data.attempts.length ? (
                <TableMessage colSpan={5}>No attempts yet.</TableMessage>
              ) : null}
              {log.data?.attempts.map((a) => (
                <TableRow key={a.id} data-testid="attempt-row">
                  <TableTimeCell iso={a.attemptedAt} />
                  <TableCell>
                    <Badge variant={a.ok ? "success" : "destructive"}>{a.statusCode ?? "no answer"}</Badge>
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{a.deliveries}</TableCell>
                  <TableCell className="text-right tabular-nums">{a.latencyMs} ms</TableCell>
                  <TableCell className="text-xs text-muted-foreground">
                    <TableTruncate
                      text={a.error ? `${a.error} ${a.responseExcerpt ?? ""}` : (a.responseExcerpt ?? "")}
                    />
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </div>
        <form
          className="flex flex-wrap items-end gap-3"
          onSubmit={(ev) => {
            ev.preventDefault();
            replay.mutate();
          }}
        >
          <div className="grid gap-1.5">
            <Label htmlFor="replay-from">Replay from (UTC)</Label>
            <Input
              id="replay-from"
              type="datetime-local"
              value={from}
              onChange={(ev) => setFrom(ev.target.value)}
              required
            />
          </div>
          <div className="grid gap-1.5">
            <Label htmlFor="replay-to">to (UTC)</Label>
            <Input
              id="replay-to"
              type="datetime-local"
              value={to}
              onChange={(ev) => setTo(ev.target.value)}
              required
            />
          </div>
          <Button type="submit" variant="outline" disabled={replay.isPending}>
            Replay events
          </Button>
          {replay.error ? (
            <p className="basis-full text-xs text-destructive">
              {replayErrors.to ?? replayErrors.from ?? (replay.error as Error).message}
            </p>
          ) : null}
        </form>
      </CardContent>
    </Card>
  );
}
