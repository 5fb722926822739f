import { randomBytes } from "node:crypto";

/**
 * A call id as the gateway makes it (litellm/tollgate_litellm/ids.py, docs/adr/0028): a UUIDv7 of the call's Unix
 * millisecond, the rest random, for tests and benchmarks that write claims in the order production does.
 */
export function callIdAt(ms: number): string {
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const hex = b.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
