import { z } from "zod";

const count = z.number().int().min(0).max(100_000_000);

export const usageEvent = z.strictObject({
  callId: z.string().min(1).max(200),
  keyId: z.uuid(),
  modelGroup: z.string().min(1).max(128),
  providerModel: z.string().max(256).default(""),
  status: z.enum(["success", "cut", "failure"]),
  stream: z.boolean(),
  promptTokens: count,
  completionTokens: count,
  cachedTokens: count.default(0),
  reportedCostMicros: z.number().int().min(0).max(1e15).default(0),
  startedAt: z.iso.datetime({ offset: true }),
  endedAt: z.iso.datetime({ offset: true }),
  errorClass: z.string().max(200).nullable().default(null),
});

export const usageBatch = z.strictObject({
  events: z.array(usageEvent).min(1).max(5000),
});
