import type { ZodError } from "zod";
import { AppError, type FieldIssue } from "./errors";

/** JSON with bigint money fields written as numbers (micro-USD stays well inside 2^53). */
export function json(data: unknown, init: ResponseInit = {}): Response {
  const body = JSON.stringify(data, (_key, value) => {
    if (typeof value !== "bigint") return value;
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))
      return value.toString();
    return Number(value);
  });
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/json; charset=utf-8");
  headers.set("cache-control", "no-store");
  return new Response(body, { ...init, headers });
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
