import type { ErrorBody, ErrorCode } from '@heliograph/protocol';

/** A request that failed: the server's typed error, or TIMEOUT / UNAVAILABLE raised by the SDK. */
export class HeliographError extends Error {
  readonly code: ErrorCode;
  readonly body: ErrorBody;

  constructor(body: ErrorBody) {
    super(body.message);
    this.name = 'HeliographError';
    this.code = body.code;
    this.body = body;
  }
}
