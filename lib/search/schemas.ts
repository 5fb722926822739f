import { z } from "zod";

// The command palette's search: one query across users, API keys and calls, scoped to what the caller may see
// (no server-only: the palette reads its result types from here).

export const SEARCH_MIN = 2;
export const SEARCH_MAX = 100;
/** Results per group: the palette shows a handful, never a page. */
export const SEARCH_LIMIT = 8;

export const searchQuery = z.strictObject({
  q: z
    .string()
    .trim()
    .min(SEARCH_MIN, `type at least ${SEARCH_MIN} characters`)
    .max(SEARCH_MAX, `at most ${SEARCH_MAX} characters`),
});
export type SearchQuery = z.output<typeof searchQuery>;

export interface UserHit {
  id: string;
  email: string;
  name: string;
  role: string;
  status: string;
  /** The user's account, where their balance, calls and keys are. */
  accountId: string | null;
}

export interface KeyHit {
  id: string;
  name: string;
  prefix: string;
  status: string;
  purpose: string;
  userId: string;
  userEmail: string;
}

export interface CallHit {
  /** The usage event's id (the request log's detail). */
  id: string;
  callId: string;
  startedAt: Date;
  model: string;
  status: string;
  userEmail: string;
  keyPrefix: string;
}

export interface SearchResults {
  users: UserHit[];
  keys: KeyHit[];
  calls: CallHit[];
}
