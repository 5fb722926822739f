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
