import { buttonVariants } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { UtcTime } from "@/components/ui/utc-time";
import { CREDIT_METHOD_LABEL, type Receipt } from "@/lib/statements/schemas";
import { ExactMoney } from "./amount";

/** A credit's receipt: the operator, who was credited, when, how, how much, and Stripe's own receipt for a card. */
export function ReceiptView({ receipt: r }: { receipt: Receipt }) {
  const op = r.operator;
  return (
    <Card className="max-w-2xl" data-testid="receipt">
      <CardHeader>
        <CardTitle data-testid="receipt-number">Receipt {r.label}</CardTitle>
        <CardDescription className="whitespace-pre-line" data-testid="receipt-operator">
          {[op.legalName || "Tollgate", op.address, op.taxId ? `Tax id: ${op.taxId}` : "", op.contactEmail]
            .filter(Boolean)
            .join("\n")}
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4 text-sm">
        <dl className="grid grid-cols-[10rem_1fr] gap-x-4 gap-y-2">
          <dt className="text-muted-foreground">Received from</dt>
          <dd data-testid="receipt-holder">
            {r.holder}
            {r.holderKind === "organization" ? " (organization)" : ""}
          </dd>
          <dt className="text-muted-foreground">Date</dt>
          <dd>
            <UtcTime at={r.at} />
          </dd>
          <dt className="text-muted-foreground">Method</dt>
          <dd data-testid="receipt-method">{CREDIT_METHOD_LABEL[r.method]}</dd>
          <dt className="text-muted-foreground">Description</dt>
          <dd className="break-words">{r.description}</dd>
          <dt className="text-muted-foreground">Amount credited</dt>
          <dd>
            <ExactMoney micros={r.amountMicros} className="font-semibold" testId="receipt-amount" />
          </dd>
          {r.stripeReceiptUrl ? (
            <>
              <dt className="text-muted-foreground">Card receipt</dt>
              <dd>
                <a
                  className="underline underline-offset-4"
                  href={r.stripeReceiptUrl}
                  rel="noreferrer"
                  target="_blank"
                >
                  Stripe's receipt
                </a>
              </dd>
            </>
          ) : null}
        </dl>
        {op.footer ? <p className="whitespace-pre-line text-xs text-muted-foreground">{op.footer}</p> : null}
        <div>
          <a
            className={buttonVariants({ size: "sm" })}
            href={`/api/v1/receipts/${r.label}?format=pdf`}
            data-testid="receipt-pdf"
          >
            Download PDF
          </a>
        </div>
      </CardContent>
    </Card>
  );
}
