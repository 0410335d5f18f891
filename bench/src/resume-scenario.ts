/**
 * The session-resume scenario (Heliograph only): sessions whose connections drop while their
 * partners keep signalling them, the server memory they hold while reconnecting, and how long a
 * resume takes from the new connection's first byte to the last replayed event.
 */
import { performance } from 'node:perf_hooks';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { distribution } from '@heliograph/server/loadtest';

export interface ResumeArgs {
  port: number;
  secret: string;
  sessions: number;
  /** Signals each partner sends to its reconnecting peer. */
  eventsEach: number;
  mark: (name: string) => void;
}

type Frame = { id?: number | string; ok?: boolean; type?: string; seq?: number; data?: Record<string, unknown> };
type Creds = { session: string; secret: string };

const SIGNAL = JSON.stringify({
  candidate: {
    candidate: 'candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 192.168.1.5 rport 46154 generation 0',
    sdpMid: '0',
    sdpMLineIndex: 0,
  },
});

/** A raw native-protocol connection: frames in order, requests answered by id. */
class Raw {
  readonly frames: Frame[] = [];
  #waiters: Array<{ test: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  #next = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw: Buffer) => {
      const frame = JSON.parse(raw.toString()) as Frame;
      this.frames.push(frame);
      const i = this.#waiters.findIndex((w) => w.test(frame));
      if (i >= 0) {
        this.#waiters.splice(i, 1)[0]!.resolve(frame);
      }
    });
  }

  static async open(port: number, token: string): Promise<Raw> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`, { perMessageDeflate: false });
    const raw = new Raw(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return raw;
  }

  next(test: (f: Frame) => boolean): Promise<Frame> {
    const found = this.frames.find(test);
    return found ? Promise.resolve(found) : new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }

  async request(type: string, data: unknown): Promise<Frame> {
    const id = this.#next++;
    this.ws.send(JSON.stringify({ id, type, data }));
    return this.next((f) => f.id === id);
  }
}

function token(secret: string, user: string): Promise<string> {
  return new SignJWT({ grants: [{ room: '*', join: true, create: true }] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function resumeScenario(args: ResumeArgs): Promise<unknown> {
  const { port, secret, sessions, eventsEach, mark } = args;
  const partners: Raw[] = [];
  for (let i = 0; i < sessions; i++) {
    const p = await Raw.open(port, await token(secret, `partner${i}`));
    await p.request('room.join', { room: `resume-${i}` });
    partners.push(p);
  }
  await sleep(500);
  mark('before');
  const victims: Array<{ creds: Creds; peerId: string; lastSeq: number }> = [];
  for (let i = 0; i < sessions; i++) {
    const v = await Raw.open(port, await token(secret, `victim${i}`));
    const ready = await v.next((f) => f.type === 'session.ready');
    const joined = await v.request('room.join', { room: `resume-${i}` });
    const peerId = (joined.data?.peer as { id: string }).id;
    victims.push({ creds: ready.data?.resume as Creds, peerId, lastSeq: Math.max(...v.frames.map((f) => f.seq ?? 0)) });
    v.ws.terminate();
  }
  // Every partner signals its reconnecting peer; each is acked as queued.
  let queued = 0;
  await Promise.all(
    partners.map(async (p, i) => {
      for (let k = 0; k < eventsEach; k++) {
        const ack = await p.request('signal.send', { to: victims[i]!.peerId, signal: JSON.parse(SIGNAL) as unknown });
        queued += ack.ok && (ack.data as { queued?: boolean }).queued ? 1 : 0;
      }
    }),
  );
  await sleep(1000);
  mark('connected');
  const times: number[] = [];
  let complete = 0;
  for (const [i, victim] of victims.entries()) {
    const t = await token(secret, `victim${i}`);
    const t0 = performance.now();
    const v = await Raw.open(port, t);
    await v.next((f) => f.type === 'session.ready');
    const { session, secret: resumeSecret } = victim.creds;
    const answer = await v.request('session.resume', { session, secret: resumeSecret, lastSeq: victim.lastSeq });
    if (!answer.ok) {
      throw new Error(`resume refused: ${JSON.stringify(answer)}`);
    }
    const replayed = answer.data?.replayed as number;
    const last = victim.lastSeq + replayed;
    await v.next((f) => f.seq === last);
    times.push(performance.now() - t0);
    complete += answer.ok && replayed === eventsEach ? 1 : 0;
    v.ws.close();
  }
  for (const p of partners) {
    p.ws.close();
  }
  return { sessions, eventsEach, queued, resumedComplete: complete, ...distribution(times) };
}
