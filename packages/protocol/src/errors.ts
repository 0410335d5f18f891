/**
 * Every error code Heliograph puts on the wire (WebSocket responses) or in REST bodies.
 * One table: the code, the HTTP status REST answers with, and the default message.
 * `docs/protocol.md` documents each one; a test fails when one is missing there.
 */
export const ERRORS = {
  BAD_REQUEST: { status: 400, message: 'The request is malformed or does not match its schema' },
  UNAUTHORIZED: { status: 401, message: 'Authentication is missing, invalid or expired' },
  FORBIDDEN: { status: 403, message: 'The token does not grant this action' },
  NOT_IN_ROOM: { status: 409, message: 'Join a room first' },
  ALREADY_IN_ROOM: { status: 409, message: 'This connection is already in a room; leave it first' },
  ROOM_NOT_FOUND: { status: 404, message: 'No such room' },
  ROOM_FULL: { status: 409, message: 'The room has reached its peer limit' },
  PEER_NOT_FOUND: { status: 404, message: 'No such peer in this room' },
  PEER_OVERLOADED: {
    status: 503,
    message: 'The recipient could not keep up with its messages and was disconnected',
  },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The frame exceeds the size limit' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; slow down' },
  TIMEOUT: { status: 504, message: 'The request did not complete in time' },
  CONFLICT: { status: 409, message: 'The resource already exists' },
  NOT_FOUND: { status: 404, message: 'No such resource' },
  UNAVAILABLE: { status: 503, message: 'The service is not available right now' },
  SESSION_EXPIRED: {
    status: 410,
    message: 'The session cannot be resumed: it ended, its resume window passed, or its buffer overflowed; join afresh',
  },
  INTERNAL: { status: 500, message: 'Internal server error' },
} as const satisfies Record<string, { status: number; message: string }>;

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
