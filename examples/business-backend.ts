// A business backend for Heliograph, in one file: it mints join tokens, answers the room
// service callout, and receives webhooks, checking every signature and refusing replays.
// Dependencies: Node 20+ and `jose`. The integration tests run this very file as their backend.
//
// `npm ci` (or `npm run build`) compiles it to examples/dist/business-backend.js; run that:
//   JWT_SECRET=… HOOK_SECRET=… node examples/dist/business-backend.js [port, default 3000]
// (The variables are not HELIOGRAPH_*: those belong to the server, which refuses unknown ones.)
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { SignJWT } from 'jose';

/** What Heliograph asks before a join or a room creation. */
export interface RoomServiceRequest {
  action: 'room.join' | 'room.create';
  user: { id: string; name?: string };
  room: string;
  metadata: Record<string, unknown>;
}

/** What the backend answers. */
export interface RoomServiceReply {
  allow: boolean;
  reason?: string;
  metadata?: Record<string, unknown>;
  permissions?: { signal?: boolean; data?: boolean; update?: boolean };
}

/** A webhook event as Heliograph POSTs it. */
export interface WebhookEvent {
  id: string;
  type: string;
  createdAt: number;
  room: string | null;
  seq: number;
  data: Record<string, unknown>;
}

export interface BackendOptions {
  /** The secret Heliograph verifies join tokens with (`auth.jwtSecret`). */
  jwtSecret: string;
  /** The secret of `roomService.secret` and `webhooks.secret` (they may differ; one is simpler). */
  hookSecret: string;
  /** Decides who may enter. The default lets everyone in. */
  decide?: (request: RoomServiceRequest) => RoomServiceReply | Promise<RoomServiceReply>;
  /** Called once per event id, in each room's order. */
  onEvent?: (event: WebhookEvent) => void;
  /** Older signatures than this are refused as replays. */
  toleranceSeconds?: number;
}

/** Checks `x-heliograph-timestamp` and `x-heliograph-signature` over the raw body. */
export function verifyHeliographSignature(secret: string, req: IncomingMessage, rawBody: string, toleranceSeconds = 300): string | undefined {
  const timestamp = String(req.headers['x-heliograph-timestamp'] ?? '');
  const signature = String(req.headers['x-heliograph-signature'] ?? '');
  if (!/^\d+$/.test(timestamp) || !signature) {
    return 'unsigned';
  }
  // A captured request replayed later is refused by its age, whatever its signature.
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) {
    return 'too old';
  }
  const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`);
  const ok = signature.split(',').some((s) => {
    const given = Buffer.from(s.trim());
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return ok ? undefined : 'bad signature';
}

/** Mints a Heliograph join token for `userId` in `room` (HS256 with the shared secret). */
export async function mintJoinToken(jwtSecret: string, userId: string, room: string, ttlSeconds = 3600): Promise<string> {
  return new SignJWT({ grants: [{ room, join: true, create: true }] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(jwtSecret));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** The backend's HTTP server (not listening yet). */
export function createBusinessBackend(options: BackendOptions): Server {
  const seen = new Set<string>();
  const lastSeq = new Map<string, number>();
  const tolerance = options.toleranceSeconds ?? 300;

  return createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      if (req.method === 'POST' && req.url === '/token') {
        // In a real backend: after your own login. Here: any user, the room asked for.
        const { userId, room } = JSON.parse(raw) as { userId: string; room: string };
        return send(res, 200, { token: await mintJoinToken(options.jwtSecret, userId, room) });
      }
      if (req.method === 'POST' && (req.url === '/heliograph/room-service' || req.url === '/heliograph/webhooks')) {
        const problem = verifyHeliographSignature(options.hookSecret, req, raw, tolerance);
        if (problem) {
          return send(res, 401, { error: problem });
        }
        if (req.url === '/heliograph/room-service') {
          const reply = options.decide ? await options.decide(JSON.parse(raw) as RoomServiceRequest) : { allow: true };
          return send(res, 200, reply);
        }
        const event = JSON.parse(raw) as WebhookEvent;
        // At least once: the same event may come again (after a timeout, a restart); handle it once.
        if (!seen.has(event.id)) {
          seen.add(event.id);
          const key = event.room ?? '';
          // Per room, `seq` only grows; a smaller one would mean an event older than one already handled.
          if ((lastSeq.get(key) ?? 0) < event.seq) {
            lastSeq.set(key, event.seq);
          }
          options.onEvent?.(event);
        }
        return send(res, 200, { ok: true });
      }
      return send(res, 404, { error: 'not found' });
    })().catch(() => send(res, 500, { error: 'internal' }));
  });
}

// Run directly: a backend on 127.0.0.1:<port> for a local Heliograph started with
//   --room-service.url http://127.0.0.1:3000/heliograph/room-service --webhooks.url http://127.0.0.1:3000/heliograph/webhooks
if (import.meta.url === `file://${process.argv[1]}`) {
  const jwtSecret = process.env.JWT_SECRET ?? '';
  const hookSecret = process.env.HOOK_SECRET ?? '';
  const port = Number(process.argv[2] ?? 3000);
  if (jwtSecret.length < 32 || hookSecret.length < 16) {
    console.error('business-backend: set JWT_SECRET (32+ characters, also given to Heliograph as auth.jwtSecret) and HOOK_SECRET (16+)');
    process.exit(2);
  }
  createBusinessBackend({
    jwtSecret,
    hookSecret,
    decide: (r) => (r.room.startsWith('vip-') && r.user.id !== 'ada' ? { allow: false, reason: 'VIP rooms are for Ada' } : { allow: true }),
    onEvent: (e) => console.log(`${e.room ?? '-'} #${e.seq} ${e.type}`, JSON.stringify(e.data)),
  })
    .on('error', (err: NodeJS.ErrnoException) => {
      console.error(`business-backend: cannot listen on 127.0.0.1:${port}: ${err.code ?? err.message}`);
      process.exit(1);
    })
    .listen(port, '127.0.0.1', () => console.log(`business backend on http://127.0.0.1:${port}`));
}
