import type { RoomGrant } from '@heliograph/protocol';
import type { Clock } from '../shared/clock.js';

export interface MintOptions {
  userId: string;
  name?: string;
  grants: RoomGrant[];
  ttlSeconds: number;
  metadata?: Record<string, unknown>;
}

/** Mints HS256 join tokens with the node's secret (login, `heliograph token`, control API). */
export class TokenSigner {
  constructor(readonly options: { secret: string; clock: Clock; issuer?: string; audience?: string }) {}
  mint(options: MintOptions): Promise<{ token: string; expiresAt: number }> {
    throw new Error(`not implemented ${options.userId}`);
  }
}
