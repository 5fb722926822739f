import { z } from "zod";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { AppError } from "@/lib/http/errors";
import { withSession } from "@/lib/http/handler";
import { attachment, json } from "@/lib/http/respond";
import { receiptPdf } from "@/lib/statements/documents";
import { getReceipt } from "@/lib/statements/receipts";
import { receiptLabel } from "@/lib/statements/schemas";

const query = z.strictObject({ format: z.enum(["json", "pdf"]).optional() });

/** A credit's receipt by its number (RC-2026-000042), for whoever may see its account; ?format=pdf to download. */
export const GET = withSession({}, async ({ req, params, actor }) => {
  const label = receiptLabel().safeParse(params.number);
  if (!label.success) throw new AppError("not_found", "The receipt was not found.");
  const { format = "json" } = parseQuery(req, query);
  const receipt = await getReceipt(db(), actor, label.data);
  if (format === "pdf")
    return attachment(
      Buffer.from(await receiptPdf(receipt)),
      `receipt-${receipt.label}.pdf`,
      "application/pdf",
    );
  return json({ receipt });
});
