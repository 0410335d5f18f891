import type { Clock } from '@heliograph/common';
import { readGauge } from '../shared/read-gauge.js';
import type { IncomingMessage, RequestListener, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Counter, type Registry } from 'prom-client';
import type { ClientAddress } from '../http/client-address.js';
import type { Logger } from '../shared/logger.js';
import { addressKey } from './address-key.js';
import { KeyedRateLimiter } from './keyed-rate-limiter.js';
import { HEALTH_RESERVE } from './open-file-limit.js';
import { rejectUpgrade } from './upgrade.js';

/** Paths still served past the socket cap, on sockets of the reserve. */
const HEALTH_PATHS = new Set(['/healthz', '/readyz']);
/** Users and addresses remembered by the rate limiters (a few MB at most). */
const MAX_KEYS = 100_000;
/** What a client at the socket cap is told to wait, in seconds. */
const FULL_RETRY_AFTER_S = 5;

export interface AdmissionOptions {
  clock: Clock;
  logger: Logger;
  /** Who the client is (`http.trustProxy`). */
  clientAddress: ClientAddress;
  /** Sockets on all ports together that are served normally; `HEALTH_RESERVE` more answer only health probes. */
  maxSockets: number;
  /** Upgrades whose token is being verified, in total and per client address. */
  maxPendingUpgrades: number;
  maxPendingUpgradesPerAddress: number;
  /** Upgrades a client address may start, before its token is looked at. */
  upgradesPerAddress: { perSecond: number; burst: number };
  /** Connections a user may open, once its token is verified. */
  connectionsPerUser: { perSecond: number; burst: number };
}

/** An upgrade let in: its place among the pending ones, and the per-user check to come. */
export interface UpgradeTicket {
  /** The client's address (after trusted proxies). */
  readonly address: string;
  /** The token check is over: frees the pending place. Idempotent; the socket closing does it too. */
  release(): void;
  /** Counts a connection for `userId`: 0 when admitted, else the milliseconds to wait. */
  admitUser(userId: string): number;
}

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
export type AdmittedUpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, ticket: UpgradeTicket) => void;

type Refusal = { status: 429 | 503; retryAfterS: number; reason: RefusalReason };
type RefusalReason = 'sockets' | 'pending_address' | 'pending_total' | 'address_rate' | 'user_rate';

/**
 * Who gets in, shared by the main port and the Pixel Streaming ports: counts every TCP socket
 * against `maxSockets` (past it only health probes are served, past the reserve too sockets are
 * closed at once), and gates each WebSocket upgrade by the socket cap, the number of upgrades
 * still verifying their token (per address and in total) and the upgrade rate per address;
 * after the token, the connection rate per user.
 */
export class Admission {
  readonly #opts: AdmissionOptions;
  readonly #addressRate: KeyedRateLimiter;
  readonly #userRate: KeyedRateLimiter;
  readonly #pendingByAddress = new Map<string, number>();
  #sockets = 0;
  #pending = 0;
  #refused: ((reason: RefusalReason | 'destroyed') => void) | undefined;

  constructor(options: AdmissionOptions) {
    this.#opts = options;
    const { clock } = options;
    this.#addressRate = new KeyedRateLimiter({ ...options.upgradesPerAddress, clock, maxKeys: MAX_KEYS });
    this.#userRate = new KeyedRateLimiter({ ...options.connectionsPerUser, clock, maxKeys: MAX_KEYS });
  }

  /** Open TCP sockets on every watched server. */
  get sockets(): number {
    return this.#sockets;
  }

  /** Upgrades whose token is being verified. */
  get pendingUpgrades(): number {
    return this.#pending;
  }

  /** Past the socket cap: only health probes are served. */
  get full(): boolean {
    return this.#sockets > this.#opts.maxSockets;
  }

  /** Counts `server`'s sockets; one past the cap and its reserve is closed at once. */
  watch(server: Server): void {
    server.on('connection', (socket: Socket) => {
      if (this.#sockets >= this.#opts.maxSockets + HEALTH_RESERVE) {
        this.#refused?.('destroyed');
        socket.destroy();
        return;
      }
      this.#sockets++;
      socket.once('close', () => this.#sockets--);
    });
  }

  /** Wraps a request listener: past the socket cap, everything but `/healthz` and `/readyz` gets 503. */
  requests(handler: RequestListener): RequestListener {
    return (req, res) => {
      if (this.full) {
        if (!HEALTH_PATHS.has(pathOf(req))) {
          this.#refused?.('sockets');
          const body = JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'server at its socket limit' } });
          res.writeHead(503, { 'content-type': 'application/json', connection: 'close', 'retry-after': String(FULL_RETRY_AFTER_S) });
          res.end(body);
          return;
        }
        res.shouldKeepAlive = false; // give the reserve socket back after the probe
      }
      handler(req, res);
    };
  }

  /** Wraps an upgrade listener: a refused upgrade gets its HTTP status; one let in carries a ticket. */
  upgrades(handler: AdmittedUpgradeHandler): UpgradeHandler {
    return (req, socket, head) => {
      const address = this.#opts.clientAddress(req);
      const key = addressKey(address);
      const refusal = this.#check(key);
      if (refusal) {
        this.#refuse(socket, refusal, address);
        return;
      }
      handler(req, socket, head, this.#ticket(socket, address, key));
    };
  }

  /** Counts the refusals (by reason) and the sockets in `registry`. */
  registerMetrics(registry: Registry): void {
    const refusals = new Counter({
      name: 'heliograph_admission_refusals_total',
      help: 'Connections refused at admission, by reason (sockets, destroyed, pending_address, pending_total, address_rate, user_rate)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.#refused = (reason) => refusals.inc({ reason });
    const gauge = (name: string, help: string, read: () => number) => readGauge(registry, name, help, read);
    gauge('heliograph_sockets', 'Open TCP sockets on all ports (HTTP, WebSockets, upgrades)', () => this.#sockets);
    gauge('heliograph_pending_upgrades', 'WebSocket upgrades whose token is being verified', () => this.#pending);
  }

  #check(key: string): Refusal | undefined {
    const opts = this.#opts;
    if (this.full) {
      return { status: 503, retryAfterS: FULL_RETRY_AFTER_S, reason: 'sockets' };
    }
    if ((this.#pendingByAddress.get(key) ?? 0) >= opts.maxPendingUpgradesPerAddress) {
      return { status: 429, retryAfterS: 1, reason: 'pending_address' };
    }
    if (this.#pending >= opts.maxPendingUpgrades) {
      return { status: 503, retryAfterS: 1, reason: 'pending_total' };
    }
    if (!this.#addressRate.take(key)) {
      return { status: 429, retryAfterS: seconds(this.#addressRate.retryAfterMs(key)), reason: 'address_rate' };
    }
    return undefined;
  }

  #refuse(socket: Duplex, refusal: Refusal, address: string): void {
    this.#refused?.(refusal.reason);
    this.#opts.logger.debug({ address, reason: refusal.reason, status: refusal.status }, 'upgrade refused');
    socket.on('error', () => undefined); // the client may be gone already
    rejectUpgrade(socket, refusal.status, { 'retry-after': String(refusal.retryAfterS) });
  }

  #ticket(socket: Duplex, address: string, key: string): UpgradeTicket {
    this.#pending++;
    this.#pendingByAddress.set(key, (this.#pendingByAddress.get(key) ?? 0) + 1);
    let released = false;
    const release = (): void => {
      if (released) {
        return;
      }
      released = true;
      socket.off('close', release);
      this.#pending--;
      const left = (this.#pendingByAddress.get(key) ?? 1) - 1;
      if (left > 0) {
        this.#pendingByAddress.set(key, left);
      } else {
        this.#pendingByAddress.delete(key);
      }
    };
    socket.once('close', release);
    return {
      address,
      release,
      admitUser: (userId) => {
        if (this.#userRate.take(userId)) {
          return 0;
        }
        this.#refused?.('user_rate');
        this.#opts.logger.debug({ address, user: userId }, 'connection refused: user connecting too fast');
        return Math.max(1, this.#userRate.retryAfterMs(userId));
      },
    };
  }
}

/** Whole seconds for `Retry-After`, at least 1. */
export function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
