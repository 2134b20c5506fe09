/** What one call to Bitbucket came to: an HTTP answer, or no answer at all. */
export type CallOutcome = { status: number; retryAfter?: string | null } | { error: "network" | "timeout" };
