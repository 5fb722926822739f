import { usd } from "@/components/billing/format";

/** Basis points as a percentage: 500 → "5 %", 250 → "2.5 %". */
export const bpsPercent = (bps: number) =>
  `${(bps / 100).toLocaleString("en-US", { maximumFractionDigits: 2 })} %`;

/** A plan's BYOK fee as an owner reads it (clause 62): "5 %", "5 % + $0.0002 per call", "$0.001 per call". */
export const byokFee = (bps: number, requestMicros: number) =>
  requestMicros === 0
    ? bpsPercent(bps)
    : `${bps === 0 ? "" : `${bpsPercent(bps)} + `}${usd(requestMicros)} per call`;
