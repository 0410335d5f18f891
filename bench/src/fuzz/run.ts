/**
 * `npm run fuzz`: the long fuzz run. Starts a built node (packages/server/dist) as its own
 * process, then sends seeded frames on every surface at once, as fast as the node takes them:
 * the native protocol over several connections, the Pixel Streaming ports, the control API and
 * the auth endpoints, WebSocket upgrades. The assertions are the in-suite fuzzers' (an answer
 * for every frame or a documented close, typed errors, nothing at 500, no error logged, other
 * rooms working, the node up); it prints frames/s, answered and unanswered counts, closes by
 * code and every finding, and exits 1 when there was one. Loopback only.
 *
 *   npm run fuzz                         100,000 frames, seed 20260611
 *   npm run fuzz -- --frames 1000000     a million
 *   npm run fuzz -- --seed 42 --connections 16
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PsRole } from '@heliograph/protocol';
import fc from 'fast-check';
import { onLines } from '../lines.js';
import { Findings, type SurfaceStats } from './findings.js';
import { nativeBatch } from './native-frames.js';
import { psBatch } from './ps-frames.js';
import { authRequests, controlRequests, type OpenApiDoc } from './rest-requests.js';
import { NativeSurface, PsSurface, RestSurface, UpgradeSurface, userToken, type FuzzTarget } from './surfaces.js';
import { upgradeSpec } from './upgrades.js';
import { httpCall, NativeCanary, probe, PsCanary } from './well-behaved.js';

interface Args {
  frames: number;
  seed: number;
  connections: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { frames: 100_000, seed: 20_260_611, connections: 8 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2);
    const value = Number(inline ?? argv[++i]);
    const name = flag?.replace(/^--/, '');
    if ((name === 'frames' || name === 'seed' || name === 'connections') && Number.isSafeInteger(value) && value >= 0) {
      args[name] = value;
    } else {
      console.error(`usage: npm run fuzz -- [--frames N] [--seed N] [--connections N]   (bad argument: ${argv[i - (inline ? 0 : 1)]})`);
      process.exit(2);
    }
  }
  args.connections = Math.max(1, args.connections);
  return args;
}

const ANSWER_TIMEOUT_MS = 15_000;
const RW_KEY = randomBytes(24).toString('base64url');
const RO_KEY = randomBytes(24).toString('base64url');
const SECRET = randomBytes(32).toString('base64url');
const UNLIMITED = {
  messagesPerSecond: 1e9,
  messageBurst: 1e9,
  userMessagesPerSecond: 1e9,
  userMessageBurst: 1e9,
  addressMessagesPerSecond: 1e9,
  addressMessageBurst: 1e9,
};

/** Shares of the frame budget: the native protocol, the dialect, REST, upgrades. */
const SHARES = { native: 0.6, ps: 0.3, rest: 0.08, upgrades: 0.02 };

interface Node {
  child: ChildProcess;
  httpUrl: string;
  streamerPort: number;
  sfuPort: number;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Starts the built node with request and connection rates out of the way (frames must reach the
 * handlers), everything else at its defaults. Error-level log lines and an exit are findings.
 */
function startNode(findings: Findings): Promise<Node> {
  const dataDir = mkdtempSync(join(tmpdir(), 'heliograph-fuzz-'));
  const configFile = join(dataDir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      port: 0,
      dataDir,
      log: { level: 'info', format: 'json' },
      auth: { jwtSecret: SECRET },
      limits: { ...UNLIMITED, upgradesPerSecondPerAddress: 1e9, upgradeBurstPerAddress: 1e9, connectionsPerSecondPerUser: 1e9, connectionBurstPerUser: 1e9 },
      drain: { timeoutMs: 0 },
      controlApi: {
        keys: [
          { id: 'fuzz-rw', key: RW_KEY, scope: 'read-write' },
          { id: 'fuzz-ro', key: RO_KEY, scope: 'read' },
        ],
      },
      pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0, ...UNLIMITED },
    }),
  );
  const cli = fileURLToPath(new URL('../../../packages/server/dist/cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [cli, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stopping = false;
  void exited.then((code) => {
    if (!stopping) {
      findings.add('liveness', `the node exited with code ${code}`);
    }
  });
  return new Promise((resolve, reject) => {
    let httpUrl: string | undefined;
    let ports: { streamerPort: number; sfuPort: number } | undefined;
    let started = false;
    const timer = setTimeout(() => reject(new Error('the node did not start within 30 s')), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    onLines(child.stdout!, (line) => {
      const entry = parseLine(line);
      if (entry.level >= 50) {
        findings.add('server-log', `error logged: ${entry.msg} ${entry.detail}`);
      }
      httpUrl ??= /serving on (http:\/\/\S+)/.exec(entry.msg)?.[1];
      if (typeof entry.raw.streamerPort === 'number') {
        ports = { streamerPort: entry.raw.streamerPort, sfuPort: Number(entry.raw.sfuPort) };
      }
      if (httpUrl && ports && !started) {
        started = true;
        clearTimeout(timer);
        const url = httpUrl;
        resolve({
          child,
          httpUrl: url,
          ...ports,
          exited,
          async stop() {
            stopping = true;
            child.kill('SIGTERM');
            const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(kill);
            rmSync(dataDir, { recursive: true, force: true });
          },
        });
      }
    });
  });
}

function parseLine(line: string): { level: number; msg: string; detail: string; raw: Record<string, unknown> } {
  try {
    const raw = JSON.parse(line) as Record<string, unknown> & { level?: number; msg?: string; err?: { message?: string }; where?: string };
    return { level: raw.level ?? 0, msg: raw.msg ?? '', detail: `${raw.where ?? ''} ${raw.err?.message ?? ''}`.trim(), raw };
  } catch {
    return { level: 0, msg: line, detail: '', raw: {} };
  }
}

/** A stream of seeded values: `count` at a time from a seed derived from the run's seed. */
function seeded<T>(arb: fc.Arbitrary<T>, seed: number, stream: number): () => T {
  let chunk = 0;
  let queue: T[] = [];
  return () => {
    if (queue.length === 0) {
      queue = fc.sample(arb, { seed: (seed * 31 + stream * 1_000_003 + chunk++ * 7919) | 0, numRuns: 50 });
    }
    return queue.shift()!;
  };
}

function line(name: string, s: SurfaceStats): string {
  const closes =
    Object.entries(s.closes)
      .map(([code, n]) => `${code}×${n}`)
      .join(' ') || 'none';
  const outcomes = Object.entries(s.outcomes)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return `  ${name.padEnd(16)} sent ${s.sent}, answered ${s.answered}, unanswered ${s.unanswered}, excused by a close ${s.excused}; closes: ${closes}\n  ${''.padEnd(16)} outcomes: ${outcomes}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const findings = new Findings();
  console.log(`heliograph fuzz: ${args.frames} frames, seed ${args.seed}, ${args.connections} native connections (rerun with --seed ${args.seed})`);
  const node = await startNode(findings);
  // Ctrl-C: stop the node too (it is our child), then report nothing.
  process.once('SIGINT', () => void node.stop().then(() => process.exit(130)));
  const ws = node.httpUrl.replace(/^http/, 'ws');
  const host = ws.replace(/:\d+$/, '');
  const target: FuzzTarget = {
    httpUrl: node.httpUrl,
    wsUrl: `${ws}/ws`,
    ps: { playerUrl: `${ws}/`, streamerUrl: `${host}:${node.streamerPort}/`, sfuUrl: `${host}:${node.sfuPort}/`, maxMessageBytes: 1_048_576 },
    limits: { maxFrameBytes: 65_536, hardFrameBytes: 1_048_576 },
    secret: SECRET,
    now: () => Date.now(),
    controlKeys: { rw: RW_KEY, ro: RO_KEY },
  };
  const opts = { findings, answerTimeoutMs: ANSWER_TIMEOUT_MS };
  const doc = JSON.parse((await httpCall(node.httpUrl, { method: 'GET', path: '/v1/openapi.json' }, ANSWER_TIMEOUT_MS)).body.toString()) as OpenApiDoc;
  const signup = JSON.stringify({ username: 'fuzzer', password: 'correct horse battery' });
  await httpCall(
    node.httpUrl,
    { method: 'POST', path: '/v1/auth/signup', headers: { 'content-type': 'application/json' }, body: Buffer.from(signup) },
    ANSWER_TIMEOUT_MS,
  );

  const nativeCanary = new NativeCanary({
    wsUrl: target.wsUrl,
    tokens: [userToken(target, 'canary-a'), userToken(target, 'canary-b')],
    room: 'canary',
    findings,
    timeoutMs: ANSWER_TIMEOUT_MS,
    pauseMs: 20,
  });
  const psCanary = new PsCanary({
    streamerUrl: target.ps!.streamerUrl,
    playerUrl: target.ps!.playerUrl,
    streamerId: 'canary-streamer',
    findings,
    timeoutMs: ANSWER_TIMEOUT_MS,
    pauseMs: 20,
  });
  await nativeCanary.start();
  await psCanary.start();

  const native = new NativeSurface(target, { ...opts, label: 'n' });
  const ps = new PsSurface(target, opts);
  ps.knowStreamer('canary-streamer');
  const rest = new RestSurface(target, { ...opts, concurrency: 8 });
  const upgrades = new UpgradeSurface(target, { ...opts, concurrency: 4, base: ws, path: '/ws', refusal: 'close4401' });
  const roles: PsRole[] = ['player', 'player', 'streamer', 'sfu'];
  const nextNative = seeded(fc.array(nativeBatch(target.limits), { minLength: args.connections, maxLength: args.connections }), args.seed, 1);
  const nextPs = seeded(fc.tuple(...roles.map((role) => psBatch(role, 1_048_576).map((frames) => ({ role, frames })))), args.seed, 2);
  const nextRest = seeded(
    fc.tuple(fc.array(controlRequests(doc), { minLength: 16, maxLength: 16 }), fc.array(authRequests, { minLength: 4, maxLength: 4 })),
    args.seed,
    3,
  );
  const nextUpgrades = seeded(fc.array(upgradeSpec, { minLength: 4, maxLength: 4 }), args.seed, 4);

  const started = Date.now();
  const sent = () => native.stats.sent + ps.stats.sent + rest.stats.sent + upgrades.stats.sent;
  let dead = false;
  void node.exited.then(() => (dead = true));
  const loop = async (budget: number, stats: SurfaceStats, round: () => Promise<void>) => {
    while (stats.sent < budget && !dead) {
      await round();
    }
  };
  const progress = setInterval(() => {
    const s = (Date.now() - started) / 1000;
    console.log(
      `  ${Math.round(s)} s: ${sent()} frames, ${Math.round(sent() / s)} frames/s, ${findings.count} findings, canary rounds ${nativeCanary.rounds} native / ${psCanary.rounds} dialect`,
    );
  }, 10_000);
  const prober = setInterval(() => {
    void probe(target.httpUrl, target.wsUrl, userToken(target, 'prober'), `probe-${Date.now()}`, ANSWER_TIMEOUT_MS).then(
      (down) => down && findings.add('liveness', down),
    );
  }, 10_000);
  await Promise.all([
    loop(args.frames * SHARES.native, native.stats, () => native.round(nextNative())),
    loop(args.frames * SHARES.ps, ps.stats, () => ps.round(nextPs())),
    loop(args.frames * SHARES.rest, rest.stats, () => {
      const [control, auth] = nextRest();
      return rest.round([...control, ...auth]);
    }),
    loop(args.frames * SHARES.upgrades, upgrades.stats, () => upgrades.round(nextUpgrades())),
  ]);
  const seconds = (Date.now() - started) / 1000;
  clearInterval(progress);
  clearInterval(prober);
  const down = dead ? 'the node is gone' : await probe(target.httpUrl, target.wsUrl, userToken(target, 'prober'), 'probe-end', ANSWER_TIMEOUT_MS);
  if (down) {
    findings.add('liveness', down);
  }
  await nativeCanary.stop();
  await psCanary.stop();
  native.close();
  ps.close();
  rest.close();
  await node.stop();

  const total = sent();
  const unanswered = native.stats.unanswered + ps.stats.unanswered + rest.stats.unanswered + upgrades.stats.unanswered;
  console.log(
    `\nheliograph fuzz: seed ${args.seed}: ${total} frames in ${seconds.toFixed(1)} s, ${Math.round(total / seconds)} frames/s; unanswered ${unanswered}; findings ${findings.count}`,
  );
  console.log(line('native /ws', native.stats));
  console.log(line('pixel streaming', ps.stats));
  console.log(line('REST (control, auth)', rest.stats));
  console.log(line('upgrades', upgrades.stats));
  console.log(`  canaries: ${nativeCanary.rounds} native rounds, ${psCanary.rounds} dialect rounds (each an acknowledged round trip)`);
  if (findings.count > 0) {
    console.log(`\nfindings (first 30 of ${findings.count}; rerun with --seed ${args.seed}):`);
    for (const f of findings.list.slice(0, 30)) {
      console.log(`  ${f}`);
    }
    process.exitCode = 1;
  }
}

await main();
