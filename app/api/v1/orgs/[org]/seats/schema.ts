import { z } from "zod";
import { pageQuery } from "@/lib/http/schemas";

/** ?page=&pageSize=&month=YYYY-MM-01 of an organization's seat charges. */
export const seatChargesQuery = pageQuery.extend({
  month: z.iso
    .date()
    .refine((value) => value.endsWith("-01"), "must be the first day of a month (YYYY-MM-01)")
    .optional(),
});
