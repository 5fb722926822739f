/**
 * A server type as it crosses the wire through json() (lib/http/respond.ts): money (bigint micro-USD) as a
 * JSON number — every amount is capped at 2^53 − 1, so it stays exact, and json() refuses to send a larger
 * one — and Dates as ISO strings. Client code derives its types with this instead of copying them.
 */
export type Json<T> = T extends bigint
  ? number
  : T extends Date
    ? string
    : T extends (infer U)[]
      ? Json<U>[]
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;
