import { ERRORS, type ErrorBody, type ErrorCode } from '@heliograph/protocol';

/**
 * The one error type domain code throws. The WebSocket dispatcher and the HTTP error handler
 * both turn it into `{ code, message }`; anything else becomes INTERNAL.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly extra: Omit<ErrorBody, 'code' | 'message'>;

  constructor(code: ErrorCode, message?: string, extra: Omit<ErrorBody, 'code' | 'message'> = {}) {
    super(message ?? ERRORS[code].message);
    this.name = 'AppError';
    this.code = code;
    this.extra = extra;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message, ...this.extra };
  }
}
