import type { ZodError } from "zod";
import { AppError, type FieldIssue } from "./errors";

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** JSON text with bigint money as numbers: exact up to 2^53 − 1 (the cap of every money input), refused above. */
export function toJsonText(data: unknown): string {
  return JSON.stringify(data, (key, value) => {
    if (typeof value !== "bigint") return value;
    // A rounded amount, or a field that is sometimes a string, would mislead every client: fail loudly instead.
    if (value > MAX_EXACT || value < -MAX_EXACT)
      throw new RangeError(
        `${key || "value"} (${value}) is beyond 2^53 and cannot be sent as an exact JSON number`,
      );
    return Number(value);
  });
}

/** A JSON response (bigint money as exact numbers, see toJsonText), never cached. */
export function json(data: unknown, init: ResponseInit = {}): Response {
  const body = toJsonText(data);
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/json; charset=utf-8");
  if (!headers.has("cache-control")) headers.set("cache-control", "no-store");
  return new Response(body, { ...init, headers });
}

/** A file download (e.g. a streamed CSV), never cached. */
export function attachment(body: BodyInit, name: string, contentType: string): Response {
  return new Response(body, {
    headers: {
      "content-type": contentType,
      "content-disposition": `attachment; filename="${name}"`,
      "cache-control": "no-store",
    },
  });
}

export function zodIssues(error: ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(body)",
    message: issue.message,
  }));
}

export function validationError(error: ZodError, where = "request body"): AppError {
  const issues = zodIssues(error);
  const first = issues[0];
  const summary = first ? `${first.path}: ${first.message}` : "invalid input";
  return new AppError("validation_failed", `Invalid ${where}: ${summary}`, { issues });
}

export function errorResponse(error: AppError, requestId?: string): Response {
  const headers: Record<string, string> = { ...error.headers };
  if (requestId) headers["x-request-id"] = requestId;
  return json(
    { error: { code: error.code, message: error.message, ...error.details } },
    { status: error.status, headers },
  );
}
