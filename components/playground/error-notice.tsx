import Link from "@/components/ui/link";
import { readChatFailure } from "@/lib/playground/schemas";

/** A failed chat turn in words a developer can act on, by the failure's code (lib/playground/schemas.ts). */
export function ErrorNotice({ message }: { message: string }) {
  const { code, message: detail } = readChatFailure(message);
  return (
    <div
      role="alert"
      className="rounded-md border border-destructive/40 bg-destructive/5 p-3 text-sm"
      data-testid="chat-error"
    >
      {code === "insufficient_balance" ? (
        <>
          <strong>Out of balance.</strong> {detail}{" "}
          <Link href="/account/billing" className="underline">
            Top up on the balance page
          </Link>
          .
        </>
      ) : code === "rate_limited" ? (
        <>
          <strong>Limit reached.</strong> {detail} Wait a moment, or ask an admin for a higher limit.
        </>
      ) : code === "model_unavailable" ? (
        <>
          <strong>Model unavailable.</strong> {detail} Pick another model.
        </>
      ) : code === "provider_failed" ? (
        <>
          <strong>The provider failed.</strong> {detail} Nothing was charged; try again.
        </>
      ) : (
        <>
          <strong>The call failed.</strong> {detail}
        </>
      )}
    </div>
  );
}
