import "server-only";
import { config } from "@/lib/config";

export interface LiveDeployment {
  modelGroup: string;
  provider: string | null;
  upstreamModel: string | null;
  apiBase: string | null;
  maxInputTokens: number | null;
  maxOutputTokens: number | null;
  /** LiteLLM's model_info.mode (chat, embedding, image_generation, audio_speech, …); null: LiteLLM's default, chat. */
  mode: string | null;
  rpm: number | null;
  tpm: number | null;
}

export interface LiveModelInfo {
  reachable: boolean;
  fetchedAt: string;
  error?: string;
  deployments: LiveDeployment[];
}

let cache: { at: number; info: LiveModelInfo } | undefined;

interface RawDeployment {
  model_name?: string;
  litellm_params?: {
    model?: string;
    api_base?: string;
    rpm?: number;
    tpm?: number;
    custom_llm_provider?: string;
  };
  model_info?: {
    litellm_provider?: string;
    max_input_tokens?: number;
    max_output_tokens?: number;
    mode?: string | null;
  };
}

/**
 * What the gateway actually serves (LiteLLM's /v1/model/info), cached for MODEL_INFO_TTL_SECONDS so the
 * catalog page does not hit the gateway on every load. The page shows fetchedAt, so staleness is visible.
 */
export async function liveModelInfo({ fresh = false } = {}): Promise<LiveModelInfo> {
  const cfg = config();
  const ttlMs = cfg.MODEL_INFO_TTL_SECONDS * 1000;
  if (!fresh && cache && Date.now() - cache.at < ttlMs) return cache.info;
  let info: LiveModelInfo;
  try {
    if (!cfg.LITELLM_MASTER_KEY) throw new Error("LITELLM_MASTER_KEY is not set");
    const res = await fetch(new URL("/v1/model/info", cfg.LITELLM_URL), {
      headers: { authorization: `Bearer ${cfg.LITELLM_MASTER_KEY}` },
      signal: AbortSignal.timeout(3000),
      cache: "no-store",
    });
    if (!res.ok) throw new Error(`gateway answered ${res.status}`);
    const body = (await res.json()) as { data?: RawDeployment[] };
    info = {
      reachable: true,
      fetchedAt: new Date().toISOString(),
      deployments: (body.data ?? []).map((d) => ({
        modelGroup: d.model_name ?? "",
        // LiteLLM routes "openai/x" to the openai provider: the prefix names it when model_info does not.
        provider:
          d.model_info?.litellm_provider ??
          d.litellm_params?.custom_llm_provider ??
          (d.litellm_params?.model?.includes("/") ? d.litellm_params.model.split("/")[0]! : null),
        upstreamModel: d.litellm_params?.model ?? null,
        apiBase: d.litellm_params?.api_base ?? null,
        maxInputTokens: d.model_info?.max_input_tokens ?? null,
        maxOutputTokens: d.model_info?.max_output_tokens ?? null,
        mode: d.model_info?.mode ?? null,
        rpm: d.litellm_params?.rpm ?? null,
        tpm: d.litellm_params?.tpm ?? null,
      })),
    };
  } catch (error) {
    info = {
      reachable: false,
      fetchedAt: new Date().toISOString(),
      error: error instanceof Error ? error.message : String(error),
      deployments: [],
    };
  }
  cache = { at: Date.now(), info };
  return info;
}

/**
 * Whether the gateway serves a model group: "served", "not served" (it answered without it), or "unknown" (it could
 * not be asked). A cached view without the group is asked again, so a group added to the gateway since is found.
 */
export async function gatewayServes(
  group: string,
): Promise<{ answer: "served" | "not served" | "unknown"; info: LiveModelInfo }> {
  let info = await liveModelInfo();
  const has = (i: LiveModelInfo) => i.deployments.some((d) => d.modelGroup === group);
  if (!info.reachable || !has(info)) info = await liveModelInfo({ fresh: true });
  return { answer: !info.reachable ? "unknown" : has(info) ? "served" : "not served", info };
}
