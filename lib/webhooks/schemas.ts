import { z } from "zod";
import { isoDateTime } from "@/lib/http/schemas";

// Customer usage webhooks (issue 28): the event types, written once, and the API's bodies (no server-only: the pages
// import them too).

/** Every event an endpoint can subscribe to, and what it reports. */
export const WEBHOOK_EVENTS = {
  "call.charged": "A call was settled and charged (sent in the charge's own transaction).",
  "balance.low": "The available balance fell below its alert threshold.",
  "topup.succeeded": "A card top-up was paid and credited.",
  "key.revoked": "An API key was revoked.",
} as const;
export const WEBHOOK_EVENT_TYPES = Object.keys(WEBHOOK_EVENTS) as [
  keyof typeof WEBHOOK_EVENTS,
  ...(keyof typeof WEBHOOK_EVENTS)[],
];
export type WebhookEventType = keyof typeof WEBHOOK_EVENTS;

/** The most events one batched request carries. */
export const WEBHOOK_BATCH_LIMIT = 100;

const eventTypes = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .min(1, "choose at least one event")
  .max(WEBHOOK_EVENT_TYPES.length)
  .refine((v) => new Set(v).size === v.length, "each event once");

const url = z.string().trim().min(8).max(2048);

export const createEndpointBody = z.strictObject({
  url,
  description: z.string().trim().max(200).default(""),
  eventTypes,
  /** 1: one event per request; 2–100: a JSON array of up to this many. */
  batchMax: z.number().int().min(1).max(WEBHOOK_BATCH_LIMIT).default(1),
  timeoutMs: z.number().int().min(1000).max(30_000).default(10_000),
});

export const updateEndpointBody = z
  .strictObject({
    url: url.optional(),
    description: z.string().trim().max(200).optional(),
    eventTypes: eventTypes.optional(),
    enabled: z.boolean().optional(),
    batchMax: z.number().int().min(1).max(WEBHOOK_BATCH_LIMIT).optional(),
    timeoutMs: z.number().int().min(1000).max(30_000).optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "send at least one field to change");

/** Replays the events of [from, to) (by when they happened) to the endpoint as new deliveries. */
export const replayBody = z
  .strictObject({ from: isoDateTime(), to: isoDateTime() })
  .refine((v) => v.from < v.to, { message: "from must be before to", path: ["to"] })
  .refine((v) => v.to.getTime() - v.from.getTime() <= 31 * 86_400_000, {
    message: "replay at most 31 days at once",
    path: ["to"],
  });

/** Whose endpoints: an organization's (?org=<slug or id>) or, without it, the caller's own. */
export const ownerQuery = z.strictObject({ org: z.string().min(1).max(40).optional() });

export const deliveriesQuery = z.strictObject({
  org: z.string().min(1).max(40).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export type CreateEndpointBody = z.input<typeof createEndpointBody>;
export type UpdateEndpointBody = z.input<typeof updateEndpointBody>;
