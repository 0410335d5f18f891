/**
 * WebSocket close codes Heliograph uses (4000–4999 are reserved for applications by RFC 6455),
 * plus the standard ones it relies on. `docs/protocol.md` documents each one.
 */
export const CLOSE_CODES = {
  /** Standard: the server is shutting down. */
  GOING_AWAY: 1001,
  /** Standard (sent by `ws`): a text frame was not valid UTF-8. */
  INVALID_PAYLOAD: 1007,
  /** Standard (sent by `ws`): a frame exceeded the hard size cap, so the connection is dropped. */
  MESSAGE_TOO_BIG: 1009,
  /** Standard: an unexpected server error ended the connection. */
  INTERNAL_ERROR: 1011,
  /** The client broke the protocol too often (many invalid frames in a row). */
  PROTOCOL_VIOLATION: 4400,
  /** No token, a bad token or an expired token. The connection never reached a room. */
  UNAUTHORIZED: 4401,
  /** The connection missed two pings in a row and is considered dead. */
  PING_TIMEOUT: 4408,
  /** The same user joined the same room from another connection. */
  SESSION_REPLACED: 4409,
  /**
   * Sent by the client, not the server: it leaves this connection to resume its session on
   * another node (after `server.draining`). Unlike any other close from the client, the session is
   * kept for a resume.
   */
  SESSION_MOVING: 4302,
  /** The client kept sending after being rate limited. */
  RATE_LIMITED: 4429,
  /** The node is at its connection cap. Retry later or elsewhere. */
  SERVER_FULL: 4503,
  /** The client did not read its messages fast enough; too much data was buffered for it. */
  SLOW_CONSUMER: 4508,
} as const;

export type CloseCodeName = keyof typeof CLOSE_CODES;
export type CloseCode = (typeof CLOSE_CODES)[CloseCodeName];
