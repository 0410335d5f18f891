import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { RequestData } from '@heliograph/protocol';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '@heliograph/common';
import type { Identity } from '../auth/identity.js';
import type { Rooms } from '../rooms/rooms.js';
import { AppError } from '../shared/app-error.js';
import type { IdGenerator } from '../shared/ids.js';
import { ClientSession, type HandoverState, type SessionHost, type SessionLink } from './client-session.js';
import type { LoggedEvent } from './event-log.js';

export interface SessionRegistryOptions {
  clock: Clock;
  ids: IdGenerator;
  rooms: Rooms;
  /** `resume.*`; `windowMs` 0 turns resume off. */
  limits: { windowMs: number; maxEvents: number; maxBytes: number; maxTotalBytes: number };
  metrics?: Registry | undefined;
  /** In a cluster: this node's id, which session ids carry, so that any node knows where one lives. */
  nodeId?: string | undefined;
}

/** Takes over a session another node holds (`cluster/session-handover.ts`). */
export type RemoteResume = (data: RequestData<'session.resume'>, identity: Identity) => Promise<ClientSession>;

type ResumeOutcome = 'resumed' | 'expired' | 'forbidden' | 'moved';

/**
 * The node's sessions, by id: creates one per connection and hands a session over to the new
 * connection that proves it owns it (`session.resume`). Keeps the bytes of every session's event
 * log within `resume.maxTotalBytes`.
 */
export class SessionRegistry implements SessionHost {
  readonly #sessions = new Map<string, ClientSession>();
  readonly #opts: SessionRegistryOptions;
  #bytes = 0;
  #reconnecting = 0;
  readonly #emptied: Array<() => void> = [];
  readonly #resumes: Counter<'outcome'> | undefined;

  constructor(options: SessionRegistryOptions) {
    this.#opts = options;
    if (options.metrics) {
      const registry = options.metrics;
      this.#resumes = new Counter({
        name: 'heliograph_session_resumes_total',
        help: 'session.resume requests by outcome: resumed, moved (taken over from another node), expired (window over, unknown, overflowed), forbidden (wrong secret or user)',
        labelNames: ['outcome'],
        registers: [registry],
      });
      const reconnecting = () => this.#reconnecting;
      const bytes = () => this.#bytes;
      new Gauge({
        name: 'heliograph_sessions_reconnecting',
        help: 'Sessions whose connection dropped and that may still resume',
        registers: [registry],
        collect() {
          this.set(reconnecting());
        },
      });
      new Gauge({
        name: 'heliograph_session_log_bytes',
        help: 'Bytes of events kept for resumes, all sessions together',
        registers: [registry],
        collect() {
          this.set(bytes());
        },
      });
    }
  }

  get clock(): Clock {
    return this.#opts.clock;
  }

  get rooms(): Rooms {
    return this.#opts.rooms;
  }

  get limits(): SessionRegistryOptions['limits'] {
    return this.#opts.limits;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** A new session for a connection that just authenticated. */
  create(identity: Identity): ClientSession {
    const { nodeId } = this.#opts;
    const id = nodeId === undefined ? this.#opts.ids('SS') : `${this.#opts.ids('SS')}.${nodeId}`;
    const session = new ClientSession(id, randomBytes(24).toString('base64url'), identity, this);
    this.#sessions.set(session.id, session);
    return session;
  }

  /** Told of the events sessions are sent (the inspector; set by the operator console). */
  eventTap: SessionHost['eventTap'];

  /** Resumes sessions held by other nodes (set in cluster mode). */
  remote: RemoteResume | undefined;

  /** The node holding session `id`, when that is another one (its id names it). */
  holderOf(id: string): string | undefined {
    const dot = id.indexOf('.');
    const node = dot < 0 ? undefined : id.slice(dot + 1);
    return node === undefined || node === this.#opts.nodeId ? undefined : node;
  }

  /**
   * Session `id` if `userId` owns it and `secret` is its secret, for a hand-over to another node.
   * FORBIDDEN and SESSION_EXPIRED as for `resume`.
   */
  verify(id: string, secret: string, userId: string): ClientSession {
    const session = this.#sessions.get(id);
    if (!session) {
      this.#resumes?.inc({ outcome: 'expired' });
      throw new AppError('SESSION_EXPIRED', 'No such session: it ended, or its resume window passed');
    }
    if (!sameSecret(session.secret, secret) || session.identity.userId !== userId) {
      this.#resumes?.inc({ outcome: 'forbidden' });
      throw new AppError('FORBIDDEN', 'This token cannot resume that session');
    }
    return session;
  }

  /** A session handed over from another node, with a new id and secret of this node's. */
  adopt(identity: Identity, lastSeq: number, state: HandoverState): ClientSession {
    const session = this.create(identity);
    session.continueFrom(lastSeq, state);
    this.#resumes?.inc({ outcome: 'moved' });
    return session;
  }

  /**
   * Hands session `data.session` to `link` if `identity` owns it and knows its secret; returns it
   * with the events to replay. FORBIDDEN for a wrong secret or user (the same answer for both),
   * SESSION_EXPIRED when it is gone or can no longer replay everything after `lastSeq`.
   */
  resume(data: RequestData<'session.resume'>, identity: Identity, link: SessionLink): { session: ClientSession; replay: LoggedEvent[] } {
    const session = this.verify(data.session, data.secret, identity.userId);
    let outcome: ResumeOutcome = 'expired';
    try {
      const replay = session.resume(link, data.lastSeq);
      outcome = 'resumed';
      return { session, replay };
    } finally {
      this.#resumes?.inc({ outcome });
    }
  }

  account(delta: number): boolean {
    this.#bytes += delta;
    return this.#bytes <= this.#opts.limits.maxTotalBytes;
  }

  ended(session: ClientSession): void {
    if (this.#sessions.get(session.id) === session) {
      this.#sessions.delete(session.id);
      if (this.#sessions.size === 0) {
        this.#emptied.splice(0).forEach((resolve) => resolve());
      }
    }
  }

  /** Resolves once no session is left (all ended or handed over): a drain waits for it. */
  whenEmpty(): Promise<void> {
    return this.#sessions.size === 0 ? Promise.resolve() : new Promise((resolve) => this.#emptied.push(resolve));
  }

  reconnecting(delta: 1 | -1): void {
    this.#reconnecting += delta;
  }

  /** Ends every session that is waiting for a resume (the node is closing). */
  close(): void {
    for (const session of [...this.#sessions.values()]) {
      session.end('disconnected');
    }
  }
}

function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
