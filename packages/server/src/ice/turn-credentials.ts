import { createHmac } from 'node:crypto';
import type { IceServer } from '@heliograph/protocol';
import type { Clock } from '@heliograph/common';

/**
 * A TURN REST API credential, the form coturn checks with `use-auth-secret`: the username is
 * `<expiry unix seconds>:<userId>` and the password is base64(HMAC-SHA1(secret, username)).
 * coturn refuses it once the expiry has passed.
 */
export function mintTurnCredential(secret: string, userId: string, expiresAtSeconds: number): { username: string; credential: string } {
  const username = `${expiresAtSeconds}:${userId}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

export interface IceServerOptions {
  /** Servers given as they are (STUN, or TURN with fixed credentials). */
  fixed: readonly IceServer[];
  /** TURN URLs that get credentials minted per connection, when configured. */
  turn?: { urls: readonly string[]; secret: string; ttlSeconds: number } | undefined;
  clock: Clock;
}

/** What a client is given: the servers, and when their TURN credentials expire (ms since the epoch). */
export interface IssuedIceServers {
  iceServers: IceServer[];
  expiresAt: number | undefined;
}

/** The ICE servers of this node: the fixed ones plus, per user and connection, freshly minted TURN credentials. */
export class IceServerIssuer {
  constructor(private readonly opts: IceServerOptions) {}

  /** Whether credentials expire, so that long-lived connections need fresh ones. */
  get expiring(): boolean {
    return this.opts.turn !== undefined && this.opts.turn.urls.length > 0;
  }

  /** The TURN credential lifetime in milliseconds (0 without TURN). */
  get ttlMs(): number {
    return this.expiring ? (this.opts.turn?.ttlSeconds ?? 0) * 1000 : 0;
  }

  issue(userId: string): IssuedIceServers {
    const iceServers = this.opts.fixed.map((server) => ({ ...server }));
    const { turn, clock } = this.opts;
    if (!turn || turn.urls.length === 0) {
      return { iceServers, expiresAt: undefined };
    }
    const expiresAtSeconds = Math.floor(clock.now() / 1000) + turn.ttlSeconds;
    iceServers.push({ urls: [...turn.urls], ...mintTurnCredential(turn.secret, userId, expiresAtSeconds) });
    return { iceServers, expiresAt: expiresAtSeconds * 1000 };
  }
}
