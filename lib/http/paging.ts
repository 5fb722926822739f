import { AppError } from "./errors";

/**
 * The offset of a page (page × pageSize, from 1) that must end within the newest `max` rows: an offset page reads every
 * row before it, so a list over a history that grows without end reaches only so deep (docs/adr/0046). A deeper page
 * is a 422 whose message (`beyond`) says where the older rows are.
 */
export function offsetWithin(
  { page, pageSize }: { page: number; pageSize: number },
  max: number,
  beyond: string,
) {
  const offset = (page - 1) * pageSize;
  if (offset + pageSize > max)
    throw new AppError("validation_failed", beyond, {
      issues: [{ path: "page", message: `page × pageSize must be at most ${max}` }],
    });
  return offset;
}
