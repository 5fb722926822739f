export interface Model {
  id: string;
  publicName: string;
  litellmModelGroup: string;
  provider: string;
  description: string;
  contextWindow: number;
  maxOutputTokens: number;
  enabled: boolean;
  /** Served even where its price charges nothing for the route's unit (billed_kinds, clause 44). */
  free: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** What an admin writes when adding or editing a model: the model without its id and timestamps. */
export type ModelInput = Omit<Model, "id" | "createdAt" | "updatedAt">;

/**
 * A catalog entry as pages read it: the model and the call kinds the gateway serves it for today — those its price in
 * force bills (billed_kinds, clause 44; every kind when it is free on purpose), none while it has no price.
 */
export interface CatalogModel extends Model {
  kinds: string[];
  /** What an answer from the response cache is charged, in basis points of the call's price (price in force;
   *  null while unpriced), clause 60. */
  cacheHitBps: number | null;
}
