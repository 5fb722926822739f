"use client";

import { useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import { rate } from "@/components/billing/format";
import { Money } from "@/components/billing/money";
import type { Json } from "@/lib/json";
import type { PlaygroundModel } from "@/lib/playground/models";
import { api } from "@/lib/ui/api";
import { orgQuery, usePlaygroundOrg } from "./org-context";
import type { ChatSettings } from "./settings";

export type PlaygroundModelView = Json<PlaygroundModel>;

/**
 * The models the playground offers (chat models and legacy completions), their prices, and the default pick: in an
 * organization, what its playground key may call.
 */
export function usePlaygroundModels() {
  const org = usePlaygroundOrg();
  const { data } = useQuery({
    queryKey: ["playground-models", org?.slug ?? null],
    queryFn: () =>
      api<{ items: PlaygroundModelView[]; defaultModel: string | null }>(
        `/api/v1/playground/models${orgQuery(org)}`,
      ),
    staleTime: 60_000,
  });
  return { models: data?.items ?? [], defaultModel: data?.defaultModel ?? null, loaded: Boolean(data) };
}

const optionText = (m: PlaygroundModelView) =>
  `${m.name} — ${rate(m.inputPriceMicros, "1M in")} · ${rate(m.outputPriceMicros, "1M out")}`;

/** The picker's options, each with its prices: chat models first, legacy-completions models apart and named so. */
export function ModelOptions() {
  const { models } = usePlaygroundModels();
  const chat = models.filter((m) => m.api === "chat");
  const legacy = models.filter((m) => m.api === "completions");
  return (
    <>
      <optgroup label="Chat models">
        {chat.map((m) => (
          <option key={m.name} value={m.name}>
            {optionText(m)}
          </option>
        ))}
      </optgroup>
      {legacy.length ? (
        <optgroup label="Legacy completions (adapted to chat)">
          {legacy.map((m) => (
            <option key={m.name} value={m.name}>
              {optionText(m)}
            </option>
          ))}
        </optgroup>
      ) : null}
    </>
  );
}

/** A rate per million tokens: the amount (exact on hover), or "free". */
const PerMillion = ({ micros }: { micros: number }) => (micros === 0 ? "free" : <Money micros={micros} />);

/** The picked model's prices per million tokens and its context, under the picker (exact amounts on hover). */
export function ModelPrices({ model }: { model: string }) {
  const { models } = usePlaygroundModels();
  const m = models.find((v) => v.name === model);
  if (!m) return null;
  return (
    <span data-testid="model-prices">
      <PerMillion micros={m.inputPriceMicros} /> in · <PerMillion micros={m.outputPriceMicros} /> out per 1M
      tokens · {m.contextWindow.toLocaleString("en-US")}-token context
      {m.api === "completions" ? " · legacy completions model" : ""}
    </span>
  );
}

/** Fills the picker once the catalog has loaded with the server's default: its cheapest chat model. */
export function useDefaultModel(settings: ChatSettings, onChange: (s: ChatSettings) => void) {
  const { defaultModel } = usePlaygroundModels();
  useEffect(() => {
    if (settings.model || !defaultModel) return;
    onChange({ ...settings, model: defaultModel });
  }, [defaultModel, settings, onChange]);
}
