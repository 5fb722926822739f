import { z } from "zod";

// Schemas shared by every domain's API (no server-only: the client imports them too).

/** ?page=&pageSize= of a list. */
export const pageQuery = z.strictObject({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(25),
});

/**
 * Every date and time the API takes lies in the years 2000–2099 (UTC): wide enough for any real request, and
 * far from the years PostgreSQL or Date arithmetic cannot represent (year 0, year 10000 once a day is added).
 */
export const DATE_BOUNDS = { from: "2000-01-01", toExclusive: "2100-01-01" } as const;
const earliestMs = Date.parse(`${DATE_BOUNDS.from}T00:00:00Z`);
const endMs = Date.parse(`${DATE_BOUNDS.toExclusive}T00:00:00Z`);
const inBounds = (ms: number) => ms >= earliestMs && ms < endMs;
const boundsMessage = "must be in the years 2000–2099";

/** A UTC day (YYYY-MM-DD) or an ISO date-time with an offset, as its instant in ms since the epoch. */
function instantMs(value: string): number {
  return Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
}

/** An ISO 8601 date-time with an offset in the bounds, kept as the text it was sent as. */
export const isoDateTimeText = () =>
  z.iso.datetime({ offset: true }).refine((value) => inBounds(instantMs(value)), boundsMessage);

/** An ISO 8601 date-time with an offset, parsed to a Date (UTC inside). */
export const isoDateTime = () =>
  z.iso
    .datetime({ offset: true })
    .refine((value) => inBounds(instantMs(value)), boundsMessage)
    .transform((value) => new Date(value));

/** A UTC day, YYYY-MM-DD. */
export const utcDay = () => z.iso.date().refine((value) => inBounds(instantMs(value)), boundsMessage);

/** A UTC day (its midnight) or an ISO date-time with an offset, kept as the text given. */
export const utcDayOrDateTime = () =>
  z.union([z.iso.date(), z.iso.datetime({ offset: true })]).refine((value) => inBounds(instantMs(value)), {
    message: boundsMessage,
  });
