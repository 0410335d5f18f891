import type { RoomGrant } from '@heliograph/protocol';
import { SignJWT } from 'jose';
import type { Clock } from '@heliograph/common';
import { AppError } from '../shared/app-error.js';
import { claimsProblem, DEFAULT_MAX_TOKEN_TTL_SECONDS } from './token-verifier.js';

export interface MintOptions {
  userId: string;
  name?: string;
  grants: RoomGrant[];
  ttlSeconds: number;
  metadata?: Record<string, unknown>;
}

/** Mints HS256 join tokens with the node's secret (login, `heliograph token`, control API). */
export class TokenSigner {
  readonly #key: Uint8Array;

  constructor(
    readonly options: {
      secret: string;
      clock: Clock;
      /** `auth.maxTokenTtlSeconds` (default `DEFAULT_MAX_TOKEN_TTL_SECONDS`): a longer `ttlSeconds` is refused, never trimmed. */
      maxTtlSeconds?: number;
      issuer?: string;
      audience?: string;
    },
  ) {
    this.#key = new TextEncoder().encode(options.secret);
  }

  /** The longest `ttlSeconds` that `mint` accepts. */
  get maxTtlSeconds(): number {
    return this.options.maxTtlSeconds ?? DEFAULT_MAX_TOKEN_TTL_SECONDS;
  }

  /** Signs a token valid from now for `ttlSeconds`; `expiresAt` is in milliseconds since the epoch. */
  async mint(options: MintOptions): Promise<{ token: string; expiresAt: number }> {
    const { ttlSeconds } = options;
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
      throw new AppError('BAD_REQUEST', 'ttlSeconds must be a positive integer');
    }
    if (ttlSeconds > this.maxTtlSeconds) {
      throw new AppError('BAD_REQUEST', `ttlSeconds ${ttlSeconds} is over the maximum token lifetime of ${this.maxTtlSeconds} s (auth.maxTokenTtlSeconds)`);
    }
    const iat = Math.floor(this.options.clock.now() / 1000);
    const claims = {
      sub: options.userId,
      ...(options.name !== undefined && { name: options.name }),
      grants: options.grants,
      ...(options.metadata !== undefined && { metadata: options.metadata }),
      iat,
      exp: iat + ttlSeconds,
      ...(this.options.issuer !== undefined && { iss: this.options.issuer }),
      ...(this.options.audience !== undefined && { aud: this.options.audience }),
    };
    // Never mint what our own verifier would refuse (a 300-character name, too many grants…).
    const problem = claimsProblem(claims);
    if (problem) {
      throw new AppError('BAD_REQUEST', `cannot mint token: ${problem}`);
    }
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(this.#key);
    return { token, expiresAt: claims.exp * 1000 };
  }
}
