/** Every error code Tollgate answers with, and its HTTP status: the one table of the error contract. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  invalid_signature: 401,
  insufficient_balance: 402,
  forbidden: 403,
  account_suspended: 403,
  cross_site_request: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  lease_closed: 409,
  /** A single-use link already used, revoked or expired (an organization invitation). */
  gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  invalid_code: 422,
  rate_limited: 429,
  budget_exceeded: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldIssue {
  path: string;
  message: string;
}

/** A failure the caller can act on. Its message is shown to the caller, so it never carries internals. */
export class AppError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly details?: { issues?: FieldIssue[]; [key: string]: unknown },
    public readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "AppError";
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (what: string) => new AppError("not_found", `${what} was not found.`);
export const forbidden = (message = "You do not have access to this resource.") =>
  new AppError("forbidden", message);
export const unauthorized = (message = "Sign in to continue.") => new AppError("unauthorized", message);
export const conflict = (message: string) => new AppError("conflict", message);
