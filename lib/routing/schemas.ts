import { z } from "zod";

/** How a virtual model picks its candidate per call (tollgate_litellm/routing.py). */
export const ROUTING_STRATEGIES = ["cheapest", "fastest", "quality", "balanced"] as const;
export type RoutingStrategy = (typeof ROUTING_STRATEGIES)[number];

const modelName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, "letters, digits and . _ : / - (at most 128)");

export const candidateInput = z.strictObject({
  model: z.string().trim().min(1).max(128),
  /** 0–100: how good the model's answers are, the admin's judgement (the quality and balanced strategies). */
  quality: z.number().int().min(0).max(100),
});

const candidates = z
  .array(candidateInput)
  .min(1, "a virtual model needs at least one candidate")
  .max(20)
  .refine((list) => new Set(list.map((c) => c.model)).size === list.length, "each model at most once");

const fields = {
  name: modelName,
  strategy: z.enum(ROUTING_STRATEGIES),
  enabled: z.boolean(),
  description: z.string().trim().max(300),
  candidates,
};

export const createVirtualModelBody = z.strictObject({
  ...fields,
  enabled: fields.enabled.default(true),
  description: fields.description.default(""),
});

export const updateVirtualModelBody = z
  .strictObject(
    Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.optional()])) as {
      [K in keyof typeof fields]: z.ZodOptional<(typeof fields)[K]>;
    },
  )
  .refine((v) => Object.keys(v).length > 0, "send at least one field to change");

export type CreateVirtualModelBody = z.input<typeof createVirtualModelBody>;
export type UpdateVirtualModelBody = z.input<typeof updateVirtualModelBody>;
export type VirtualModelInput = z.output<typeof createVirtualModelBody>;

export interface VirtualModel {
  id: string;
  name: string;
  strategy: RoutingStrategy;
  enabled: boolean;
  description: string;
  candidates: { model: string; quality: number }[];
  updatedAt: Date;
}

/** What the gateway caches (GET /api/internal/gateway/routing): enabled virtual models, priced candidates. */
export interface GatewayRouting {
  virtualModels: {
    name: string;
    strategy: RoutingStrategy;
    candidates: {
      model: string;
      quality: number;
      /** The price in force, micro-USD per million tokens (JSON numbers: the gateway compares them). */
      inputMicrosPerMillion: number;
      outputMicrosPerMillion: number;
    }[];
  }[];
}

/** Model health (Admin → Model health): per model group over a window, from usage_events. */
export interface ModelHealthRow {
  modelGroup: string;
  calls: number;
  failures: number;
  errorRate: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  ttftP50Ms: number | null;
  ttftP95Ms: number | null;
  /** How many of its calls the latencies were read from: all of them, or a sample past HEALTH_SAMPLE_CALLS in all. */
  sampledCalls: number;
}

export interface GatewayHealthModel {
  model: string;
  state: "closed" | "open" | "half_open";
  calls: number;
  failures: number;
  consecutiveFailures: number;
  latencyP50Ms: number | null;
  restingUntil: string | null;
}

export const gatewayHealthAnswer = z.object({
  windowSeconds: z.number(),
  cooldownSeconds: z.number(),
  models: z.array(
    z.object({
      model: z.string(),
      state: z.enum(["closed", "open", "half_open"]),
      calls: z.number(),
      failures: z.number(),
      consecutiveFailures: z.number(),
      latencyP50Ms: z.number().nullable(),
      restingUntil: z.string().nullable(),
    }),
  ),
});
export type GatewayHealth = z.infer<typeof gatewayHealthAnswer>;
