/** One row of the table below, its literal types kept (`typeof ERRORS` is what clients see). */
function entry<Status extends number, Message extends string>(status: Status, message: Message): { readonly status: Status; readonly message: Message } {
  return { status, message };
}

/**
 * Every error code Heliograph puts on the wire (WebSocket responses) or in REST bodies.
 * One table: the code, the HTTP status REST answers with, and the default message.
 * `docs/protocol.md` documents each one; a test fails when one is missing there.
 */
export const ERRORS = {
  BAD_REQUEST: entry(400, 'The request is malformed or does not match its schema'),
  UNAUTHORIZED: entry(401, 'Authentication is missing, invalid or expired'),
  FORBIDDEN: entry(403, 'The token does not grant this action'),
  NOT_IN_ROOM: entry(409, 'Join a room first'),
  ALREADY_IN_ROOM: entry(409, 'This connection is already in a room; leave it first'),
  ROOM_NOT_FOUND: entry(404, 'No such room'),
  ROOM_FULL: entry(409, 'The room has reached its peer limit'),
  PEER_NOT_FOUND: entry(404, 'No such peer in this room'),
  PEER_OVERLOADED: entry(503, 'The recipient could not keep up with its messages and was disconnected'),
  PAYLOAD_TOO_LARGE: entry(413, 'The frame exceeds the size limit'),
  RATE_LIMITED: entry(429, 'Too many requests; slow down'),
  TIMEOUT: entry(504, 'The request did not complete in time'),
  CONFLICT: entry(409, 'The resource already exists'),
  NOT_FOUND: entry(404, 'No such resource'),
  UNAVAILABLE: entry(503, 'The service is not available right now'),
  SESSION_EXPIRED: entry(410, 'The session cannot be resumed: it ended, its resume window passed, or its buffer overflowed; join afresh'),
  INTERNAL: entry(500, 'Internal server error'),
} as const;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

/** One validation problem: where in the request (`path`, a JSON pointer) and what is wrong. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** The error object carried by a failed response and by REST error bodies. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** Present on BAD_REQUEST for schema mismatches. */
  issues?: ValidationIssue[];
  /** Present on RATE_LIMITED when the client may retry after this many milliseconds. */
  retryAfterMs?: number;
}
