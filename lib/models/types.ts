export interface Model {
  id: string;
  publicName: string;
  litellmModelGroup: string;
  provider: string;
  description: string;
  contextWindow: number;
  maxOutputTokens: number;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface ModelInput {
  publicName: string;
  litellmModelGroup: string;
  provider: string;
  description: string;
  contextWindow: number;
  maxOutputTokens: number;
  enabled: boolean;
}
