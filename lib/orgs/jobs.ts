// The queue jobs of organizations (run by lib/settlement/drain.ts).

/** Emails an invitation link (payload { invitationId, token }): the token is only in the job, never stored. */
export const ORG_INVITE_EMAIL_JOB = "org.invite.email";
/** Charges a joining member's prorated seat for the current UTC month (payload { organizationId, userId }). */
export const ORG_SEAT_JOIN_JOB = "org.seat.join";
/** Charges every organization's seats for a UTC month (payload { month: "YYYY-MM-01" }). */
export const ORG_SEATS_MONTH_JOB = "org.seats.month";
/** Retries an organization's due seat fees after money came in (payload { accountId }). */
export const ORG_SEATS_RETRY_JOB = "org.seats.retry";
