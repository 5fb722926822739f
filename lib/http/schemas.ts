import { z } from "zod";

// Schemas shared by every domain's API (no server-only: the client imports them too).

/** ?page=&pageSize= of a list. */
export const pageQuery = z.strictObject({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(25),
});

/** An ISO 8601 date-time with an offset, parsed to a Date (UTC inside). */
export const isoDateTime = () => z.iso.datetime({ offset: true }).transform((value) => new Date(value));

/** A UTC day, YYYY-MM-DD. */
export const utcDay = () => z.iso.date();
