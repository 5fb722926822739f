import "server-only";
import type { Db } from "@/lib/db/client";
import type { GatewayRouting, RoutingStrategy } from "./schemas";

/**
 * The routing definitions the gateway caches (~30 s): each enabled virtual model with its candidates that are enabled
 * and have a price in force now, with that price and the admin's quality score. Which candidates a key may call is
 * the gateway's to apply (the auth answer's model list).
 */
export async function gatewayRouting(db: Db): Promise<GatewayRouting> {
  const rows = await db<
    {
      name: string;
      strategy: RoutingStrategy;
      model: string;
      quality: number;
      input_price_micros: bigint;
      output_price_micros: bigint;
    }[]
  >`
    select v.name, v.strategy, c.model, c.quality, pv.input_price_micros, pv.output_price_micros
    from virtual_models v
    join virtual_model_candidates c on c.virtual_model_id = v.id
    join models m on m.public_name = c.model and m.enabled
    cross join lateral price_version_at(m.id, now()) pv
    where v.enabled
    order by v.name, c.model`;
  const byName = new Map<string, GatewayRouting["virtualModels"][number]>();
  for (const row of rows) {
    let entry = byName.get(row.name);
    if (!entry) {
      entry = { name: row.name, strategy: row.strategy, candidates: [] };
      byName.set(row.name, entry);
    }
    entry.candidates.push({
      model: row.model,
      quality: row.quality,
      inputMicrosPerMillion: Number(row.input_price_micros),
      outputMicrosPerMillion: Number(row.output_price_micros),
    });
  }
  return { virtualModels: [...byName.values()] };
}
