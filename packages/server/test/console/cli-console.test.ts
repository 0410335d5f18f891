import { writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run-cli.js';
import { runCliCaptured } from '../helpers/run-cli.js';
import { HOOK_SECRET, TestBackend } from '../helpers/business-backend.js';
import { TestClient } from '../helpers/client.js';
import { startServer, TEST_SECRET, type TestServer } from '../helpers/server.js';
import { eventually, untilPrinted } from '../helpers/wait.js';

/**
 * The operator commands (`rooms`, `peers`, `send`, `inspect`, `webhooks`) against a live server:
 * each as a table and as --json, changes with a read-write key, refusals with a read key.
 */
const READ = 'cli-read-key-0123456789-abcdefghij';
const WRITE = 'cli-write-key-0123456789-abcdefghij';
let server: TestServer;
let backend: TestBackend;
const clients: TestClient[] = [];

beforeAll(async () => {
  // Webhooks to a port nobody answers: every event becomes a dead letter after two attempts.
  backend = await new TestBackend({ jwtSecret: TEST_SECRET }).reservePort();
  server = await startServer({
    controlApi: {
      keys: [
        { id: 'cli-read', key: READ, scope: 'read' },
        { id: 'cli-ops', key: WRITE, scope: 'read-write' },
      ],
    },
    webhooks: { url: backend.webhookUrl, secret: HOOK_SECRET, initialBackoffMs: 10, maxBackoffMs: 20, maxAttempts: 2 },
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
  await backend.stop().catch(() => undefined);
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** One command line, in process, against the live server. */
function cli(args: string[], key = WRITE, signal?: AbortSignal): Promise<Run> {
  return runCliCaptured([...args, '--url', server.url, '--api-key', key], server.config.dataDir, signal);
}

async function join(user: string, room: string, name?: string): Promise<{ client: TestClient; peer: string }> {
  const client = await TestClient.open(server.wsUrl, await server.token(user, undefined, name ? { name } : {}));
  clients.push(client);
  const data = await client.ok('room.join', { room });
  return { client, peer: data.peer.id };
}

describe('operator CLI', () => {
  it('rooms list and rooms show: tables and --json', async () => {
    const ada = await join('ada', 'lobby', 'Ada');
    await join('bob', 'lobby');
    await join('cy', 'quiet');
    const table = await cli(['rooms', 'list'], READ);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ROOM +PEERS +MAX +CREATED$/);
    expect(lines.slice(1).map((l) => l.split(/ +/).slice(0, 2))).toEqual([
      ['lobby', '2'],
      ['quiet', '1'],
    ]);
    const json = JSON.parse((await cli(['rooms', 'list', '--json'], READ)).stdout) as Array<{ id: string; peers: number }>;
    expect(json.map((r) => [r.id, r.peers])).toEqual([
      ['lobby', 2],
      ['quiet', 1],
    ]);
    const show = await cli(['rooms', 'show', 'lobby'], READ);
    expect(show.stdout).toMatch(/^Room +lobby\nPeers +2 of \d+\n/);
    expect(show.stdout).toMatch(new RegExp(`${ada.peer} +ada +Ada +\\S+ +signal,data,update`));
    const shown = JSON.parse((await cli(['rooms', 'show', 'lobby', '--json'], READ)).stdout) as { id: string; peers: Array<{ userId: string }> };
    expect(shown.peers.map((p) => p.userId).sort()).toEqual(['ada', 'bob']);
    const missing = await cli(['rooms', 'show', 'nowhere'], READ);
    expect(missing).toMatchObject({ code: 1, stderr: 'heliograph: ROOM_NOT_FOUND: No room "nowhere"\n' });
  });

  it('peers list and peers kick; a read key may list but not kick', async () => {
    const { client, peer } = await join('dee', 'kick-room');
    await join('eve', 'kick-room');
    const listed = await cli(['peers', 'list', 'kick-room'], READ);
    expect(listed.stdout.split('\n')[0]).toMatch(/^PEER +USER +NAME +JOINED +MAY$/);
    expect(listed.stdout).toContain(peer);
    const json = JSON.parse((await cli(['peers', 'list', 'kick-room', '--json'], READ)).stdout) as Array<{ id: string }>;
    expect(json.map((p) => p.id)).toContain(peer);
    expect(await cli(['peers', 'kick', 'kick-room', peer], READ)).toMatchObject({
      code: 1,
      stderr: 'heliograph: FORBIDDEN: API key "cli-read" is read-only\n',
    });
    const kicked = await cli(['peers', 'kick', 'kick-room', peer, '--reason', 'spam']);
    expect(kicked).toMatchObject({ code: 0, stdout: `Kicked ${peer} from room kick-room\n` });
    const event = await client.nextEvent('room.kicked');
    expect(event.data).toMatchObject({ reason: 'spam' });
  });

  it('send: to a room and to one peer, with --json; bad JSON is a usage error', async () => {
    const a = await join('fay', 'news');
    const b = await join('gus', 'news');
    expect(await cli(['send', 'news', '--data', '{"notice":"hello"}'])).toMatchObject({ code: 0, stdout: 'Sent to 2 peers\n' });
    for (const x of [a, b]) {
      expect((await x.client.nextEvent('data')).data).toEqual({ from: 'server', payload: { notice: 'hello' } });
    }
    expect(JSON.parse((await cli(['send', 'news', '--peer', b.peer, '--data', '[1]', '--json'])).stdout)).toEqual({ recipients: 1 });
    expect((await b.client.nextEvent('data')).data).toEqual({ from: 'server', payload: [1] });
    expect(await cli(['send', 'news', '--data', '{nope'])).toMatchObject({ code: 2, stderr: 'heliograph: --data must be JSON, not "{nope"\n' });
    expect(await cli(['send', 'news'])).toMatchObject({ code: 2, stderr: expect.stringContaining('heliograph: --data is required\n') as string });
  });

  it('inspect: the live signalling of a room, as text and as JSON lines, bounded by --count', async () => {
    const a = await join('hal', 'watched');
    const b = await join('ivy', 'watched');
    const asText = cli(['inspect', 'watched', '--count', '3']);
    await signalUntil(asText, () =>
      a.client.ok('signal.send', { to: b.peer, signal: { description: { type: 'offer', sdp: 'v=0\r\na=ice-pwd:hidden-password\r\na=mid:0\r\n' } } }),
    );
    const text = await asText;
    expect(text.code).toBe(0);
    expect(text.stderr).toBe('Inspecting room watched; Ctrl-C to stop.\n');
    expect(text.stdout).toMatch(/→ in +request signal\.send #\d+ PR_\S+ \d+ B offer/);
    expect(text.stdout).toMatch(/← out answer +signal\.send #\d+ PR_\S+ \d+ B [\d.]+ ms/);
    expect(text.stdout).toContain('      a=mid:0');
    expect(text.stdout).not.toContain('hidden-password');
    const asJson = cli(['inspect', b.peer, '--json', '--count', '1']);
    await signalUntil(asJson, () =>
      a.client.ok('signal.send', { to: b.peer, signal: { candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.9 9 typ host' } } }),
    );
    const [record] = (await asJson).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(record).toMatchObject({ direction: 'out', kind: 'event', type: 'signal', peer: b.peer, body: { from: a.peer } });
    expect(await cli(['inspect', 'watched', '--count', '1'], READ)).toMatchObject({
      code: 1,
      stderr: 'heliograph: FORBIDDEN: The inspector needs a read-write API key\n',
    });
  });

  it('webhooks dead-letters and webhooks redeliver', async () => {
    await join('jo', 'hooks');
    await eventually(async () => JSON.parse((await cli(['webhooks', 'dead-letters', '--json'], READ)).stdout).length >= 2, 10_000, 'dead letters');
    const table = await cli(['webhooks', 'dead-letters'], READ);
    expect(table.stdout.split('\n')[0]).toMatch(/^EVENT +TYPE +ROOM +NODE +CREATED +ATTEMPTS +LAST ERROR$/);
    const dead = JSON.parse((await cli(['webhooks', 'dead-letters', '--json'], READ)).stdout) as Array<{ id: string; attempts: number; node: string }>;
    expect(dead[0]?.attempts).toBe(2);
    // A single node holds them all: its own id.
    expect(new Set(dead.map((d) => d.node)).size).toBe(1);
    expect(table.stdout).toContain(dead[0]?.node);
    const id = dead[0]?.id ?? '';
    expect(table.stdout).toContain(id);
    expect(await cli(['webhooks', 'redeliver', id])).toMatchObject({ code: 0, stdout: `Queued ${id} for redelivery on node ${dead[0]?.node}\n` });
    expect(await cli(['webhooks', 'redeliver', 'EV_none'])).toMatchObject({ code: 1, stderr: 'heliograph: NOT_FOUND: No dead letter "EV_none"\n' });
  });

  it('rooms close; a missing key, a wrong key and an unreachable server are one line each', async () => {
    const { client } = await join('kim', 'closing');
    expect(await cli(['rooms', 'close', 'closing', '--reason', 'maintenance'])).toMatchObject({ code: 0, stdout: 'Closed room closing\n' });
    expect((await client.nextEvent('room.closed')).data).toMatchObject({ reason: 'maintenance' });
    expect(await cli(['rooms', 'list'], 'wrong-key')).toMatchObject({ code: 1, stderr: 'heliograph: UNAUTHORIZED: Unknown API key\n' });
    const noKey = await runCli({ argv: ['rooms', 'list', '--url', server.url], env: {}, cwd: server.config.dataDir, version: 't', io: quietIo() });
    expect(noKey).toBe(2);
    const keyFile = joinPath(server.config.dataDir, 'read.key');
    writeFileSync(keyFile, `${READ}\n`);
    const fromFile = await runCli({
      argv: ['rooms', 'list', '--url', server.url, '--api-key-file', keyFile],
      env: {},
      cwd: server.config.dataDir,
      version: 't',
      io: quietIo(),
    });
    expect(fromFile).toBe(0);
    const both = await runCli({
      argv: ['rooms', 'list', '--url', server.url, '--api-key-file', keyFile, '--api-key', READ],
      env: {},
      cwd: server.config.dataDir,
      version: 't',
      io: quietIo(),
    });
    expect(both).toBe(2);
    const down = await runCli({
      argv: ['rooms', 'list', '--url', 'http://127.0.0.1:9', '--api-key', READ],
      env: {},
      cwd: server.config.dataDir,
      version: 't',
      io: quietIo(),
    });
    expect(down).toBe(1);
  });
});

describe('operator CLI when the server goes', () => {
  it('inspect says so and exits 1', async () => {
    const own = await startServer({ controlApi: { keys: [{ id: 'ops', key: WRITE, scope: 'read-write' }] } });
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (c: Buffer) => (err += c.toString()));
    const io = { stdout: new PassThrough(), stderr, stdin: new PassThrough(), isTTY: false };
    const run = runCli({ argv: ['inspect', 'any', '--url', own.url, '--api-key', WRITE], env: {}, cwd: own.config.dataDir, version: 't', io });
    await untilPrinted(stderr, () => err, 'Inspecting room any');
    await own.close();
    expect(await run).toBe(1);
    expect(err).toBe('Inspecting room any; Ctrl-C to stop.\nThe server ended the stream.\n');
  });
});

function quietIo() {
  return { stdout: new PassThrough(), stderr: new PassThrough(), stdin: new PassThrough(), isTTY: false };
}

/**
 * Sends signals until the inspect command (started before) has its records and exits: the first
 * ones may pass before its capture is on.
 */
async function signalUntil(run: Promise<Run>, send: () => Promise<unknown>): Promise<void> {
  let done = false;
  const finished = run.then(() => (done = true));
  // Paced, bounded sends over a real socket: the capture starts on its own time.
  for (let i = 0; i < 100 && !done; i++) {
    await send();
    await new Promise((r) => setTimeout(r, 50));
  }
  await finished;
}
