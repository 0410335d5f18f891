import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveTool } from './helpers/require-tool.js';
import { until } from './helpers/wait.js';

/**
 * Docs that run: every ```sh block of README.md and docs/*.md is run as written, in document
 * order, against a live `heliograph serve` on a fresh data directory, and must exit 0 and print
 * what it promises. A new block is run by default; one that cannot run here goes in SKIPPED, with
 * the reason.
 *
 * How a block runs:
 * - `bash -e -o pipefail -c <block>` in the checkout's root, in a process group of its own, with
 *   empty stdin, the test's environment minus every HELIOGRAPH_* variable, plus BLOCK_ENV below.
 * - Substitutions, the only changes made to a block's text (see `substitute`):
 *   - `:8080` (a URL of the server the docs assume) becomes the live server's port;
 *   - the number after `--port` or `HELIOGRAPH_PORT=` becomes a free port of the block's own, the
 *     port a server started by the block listens on (HELIOGRAPH_PORT is set to it too, for a
 *     block that starts one without naming a port);
 *   - the directory after `--data-dir` or `HELIOGRAPH_DATA_DIR=` (not `:memory:`) becomes the live
 *     server's data directory, so that `users add` and `keys create` work on its database;
 *   - `3000` (the sample business backend's port) becomes another free port.
 * - A server the block starts is stopped once ready, as an operator would: when its start-up
 *   summary names its WebSocket endpoint, the test checks `GET /readyz` there (200), then sends
 *   SIGINT to that server's process (Ctrl-C), and the block goes on to its next line.
 * - When the block ends, whatever it left running in the background is killed.
 * - Checks: exit status 0 within BLOCK_TIMEOUT_MS; no `heliograph: …` error line; each `# → text`
 *   comment of the block matches its output, in order (`…` matches anything on a line, a run of
 *   spaces any whitespace); the block's EXPECT patterns match; and it printed something.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const BIN = join(ROOT, 'packages/server/bin/heliograph.mjs');
const BLOCK_TIMEOUT_MS = 30_000;

/**
 * Blocks that are not run, by `<file>: <first line>`, with the reason. A block named here that no
 * longer exists fails the test, so that this list stays true.
 */
const SKIPPED: Record<string, string> = {
  'README.md: npm ci && npm start    # the server on http://127.0.0.1:8080 (WebSocket: ws://127.0.0.1:8080/ws)':
    'npm ci would reinstall node_modules under the running tests, and npm test runs every test, this one included',
  'docs/configuration.md: npx heliograph serve \\':
    'reads its secrets from /run/secrets/*, which exist only where they are deployed, and names backend.example.com',
  'docs/configuration.md: npx heliograph serve --port 8443 \\': 'needs the Let’s Encrypt certificate of rtc.example.com under /etc/letsencrypt',
  'docs/performance.md: npm run bench                  # full run: about 70 s (about 2 min with --peers), plus the cross-node scenario':
    'benchmarks that take minutes (and measure, which a test must not)',
  'docs/scaling.md: npx heliograph serve --port 8080 --redis redis://10.0.0.5:6379 --auth.jwt-secret-file /run/secrets/jwt':
    'needs a Redis at 10.0.0.5 (or a Sentinel) and a secret under /run/secrets',
  'docs/security.md: npm run fuzz -- --frames 1000000': 'a million fuzzed frames take minutes',
};

/** What a block must print beyond its own `# →` lines, by `<file>: <first line>`. */
const EXPECT: Record<string, RegExp[]> = {
  'README.md: npx heliograph dev': [
    /FOR DEVELOPMENT ONLY/,
    /^ {2}Demo app +http:\/\/127\.0\.0\.1:\d+\/$/m,
    /^ {2}Test account +username dev, password \S+ /m,
    /^ {2}Control API key +hgk_\S+ \(read-write; /m,
    /^ {2}Join token +eyJ\S+ \(user dev, any room, 1 h\)$/m,
  ],
  "README.md: echo 'alice-password' | npx heliograph users add alice": [/^Added user alice$/m, /^Added user bob$/m],
  "README.md: node examples/join-room.mjs alice 'alice-password' demo http://127.0.0.1:8080 --once &": [
    /"type":"signal","seq":\d+,"data":\{"from":"PR_\S+","signal":\{"hello":"from (alice|bob)"\}/,
  ],
  'README.md: npx heliograph keys create --scope read-write --id backend   # prints the key, this once': [
    /^hgk_[\w-]{43}$/m,
    /Created API key backend \(read-write\)/,
  ],
  'docs/configuration.md: export HELIOGRAPH_HOST=0.0.0.0': [/Built-in accounts are off \(auth\.accounts\)/, /"level":20/],
  'docs/configuration.md: npx heliograph serve --port 0 --data-dir ./tmp-data --log.level=debug': [
    /Heliograph serving on[\s\S]*Heliograph serving on[\s\S]*Heliograph serving on/,
  ],
  'docs/integration.md: export JWT_SECRET=$(openssl rand -base64 32) HOOK_SECRET=$(openssl rand -base64 32)': [
    /^business backend on http:\/\/127\.0\.0\.1:\d+$/m,
    /Heliograph serving on/,
  ],
  'docs/pixel-streaming.md: npx heliograph serve --host 0.0.0.0 --port 80 --pixel-streaming.enabled': [/Pixel Streaming: players on ws:\/\/localhost:\d+/],
};

/** OS tools blocks use, by the Debian package that has them: missing, a block that uses one skips (fails in CI). */
const TOOLS: Record<string, string> = { curl: 'curl', openssl: 'openssl' };

interface Block {
  file: string;
  /** `<file>: <first line>`, how SKIPPED and EXPECT name it. */
  key: string;
  /** The line of the opening fence. */
  line: number;
  text: string;
}

/** Every ```sh block of `file`. */
function shellBlocks(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== '```sh') {
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i]?.trim() !== '```'; i++) {
      body.push(lines[i] ?? '');
    }
    blocks.push({ file, key: `${file}: ${body[0] ?? ''}`, line: start + 1, text: body.join('\n') });
  }
  return blocks;
}

const BLOCKS = DOCS.flatMap(shellBlocks);

/** A port nothing listens on, a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Places {
  livePort: number;
  ownPort: number;
  backendPort: number;
  dataDir: string;
}

/** The block as it runs here: the substitutions described at the top, nothing else. */
function substitute(text: string, at: Places): string {
  return text
    .replace(/(--port[ =]|HELIOGRAPH_PORT=)\d+/g, `$1${at.ownPort}`)
    .replace(/(--data-dir[ =]|HELIOGRAPH_DATA_DIR=)(?!:memory:)[^\s'"]+/g, `$1${at.dataDir}`)
    .replace(/:8080\b/g, `:${at.livePort}`)
    .replace(/\b3000\b/g, String(at.backendPort));
}

/** The environment of every block, beside the substitutions. */
function blockEnv(at: Places): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HELIOGRAPH_')));
  return {
    ...env,
    HELIOGRAPH_DATA_DIR: at.dataDir,
    HELIOGRAPH_PORT: String(at.ownPort),
    // Pixel Streaming's own ports (8888, 8889 by default) could be taken on this machine.
    HELIOGRAPH_PIXEL_STREAMING_STREAMER_PORT: '0',
    HELIOGRAPH_PIXEL_STREAMING_SFU_PORT: '0',
    NO_COLOR: '1',
  };
}

/** A Heliograph node process: `node …/.bin/heliograph`, `node …/heliograph.mjs` or `node …/cli/main.js`. */
const HELIOGRAPH_ARG = /(\/\.bin\/heliograph|heliograph\.mjs|\/cli\/main\.js)$/;

/** The Heliograph server processes in process group `pgid` (Linux: read from /proc). */
function heliographProcesses(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // After "pid (comm) ": state, ppid, pgrp.
      const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (group === pgid && basename(argv[0] ?? '').startsWith('node') && argv.slice(1).some((arg) => HELIOGRAPH_ARG.test(arg))) {
        pids.push(Number(entry));
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  stderr: string;
  servers: number;
  problems: string[];
}

/** Blocks still running: killed, with all they started, if the test process exits first. */
const running = new Set<ChildProcess>();
process.once('exit', () => running.forEach((child) => killGroup(child, 'SIGKILL')));

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-(child.pid ?? 0), signal);
  } catch {
    // Already gone.
  }
}

/** Runs one block as described at the top; stops the servers it starts once each is ready. */
async function runBlock(script: string, env: NodeJS.ProcessEnv): Promise<Ran> {
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  let stderr = '';
  let handled = 0;
  let checking = false;
  const problems: string[] = [];
  const endpoints = () => [...output.matchAll(/WebSocket endpoint: (wss?):\/\/([^/\s"]+)\/ws/g)];
  const onOutput = async () => {
    if (checking || endpoints().length <= handled) {
      return;
    }
    checking = true;
    const [, scheme, host] = endpoints()[handled] ?? [];
    handled++;
    if (scheme === 'ws') {
      const ready = await fetch(`http://${host ?? ''}/readyz`).catch((err: unknown) => err);
      if (!(ready instanceof Response) || ready.status !== 200) {
        problems.push(`the server at ${host ?? '?'} was not ready: ${ready instanceof Response ? ready.status : String(ready)}`);
      }
    }
    const pids = heliographProcesses(child.pid ?? 0);
    if (pids.length === 0) {
      problems.push('found no server process to stop');
    }
    for (const pid of pids) {
      process.kill(pid, 'SIGINT');
    }
    checking = false;
    void onOutput();
  };
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    void onOutput();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
    void onOutput();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const timer = setTimeout(() => {
    problems.push(`still running after ${BLOCK_TIMEOUT_MS} ms`);
    killGroup(child, 'SIGKILL');
  }, BLOCK_TIMEOUT_MS);
  const { code, signal } = await exited;
  clearTimeout(timer);
  // What the block left running in the background (the sample backend, a second peer).
  killGroup(child, 'SIGKILL');
  running.delete(child);
  return { code, signal, output, stderr, servers: handled, problems };
}

/** `# → text` comments as patterns: `…` matches anything, a run of spaces any whitespace. */
function arrowPatterns(text: string): RegExp[] {
  return [...text.matchAll(/^\s*# → (.+?)(?:\s{2,}\(.*\))?$/gm)].map(
    ([, expected = '']) =>
      new RegExp(
        expected
          .trim()
          .split('…')
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ +/g, '\\s+'))
          .join('.*?'),
      ),
  );
}

/** Whether each of `patterns` matches `output` after the previous one's match; why not, if not. */
function inOrder(output: string, patterns: readonly RegExp[]): string | undefined {
  let from = 0;
  for (const pattern of patterns) {
    const sticky = new RegExp(pattern.source, 'g');
    sticky.lastIndex = from;
    const match = sticky.exec(output);
    if (!match) {
      return `nothing matches ${String(pattern)} after ${JSON.stringify(output.slice(Math.max(0, from - 40), from))}`;
    }
    from = match.index + match[0].length;
  }
  return undefined;
}

let live: ChildProcess | undefined;
let livePort = 0;
let dataDir = '';

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'packages/server/dist/cli/main.js')) || !existsSync(join(ROOT, 'examples/dist/business-backend.js'))) {
    throw new Error('run `npm run build` first: the blocks use the built CLI and the built sample backend');
  }
  dataDir = mkdtempSync(join(tmpdir(), 'heliograph-docs-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HELIOGRAPH_')));
  live = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', dataDir, '--log.format', 'json'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  live.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  live.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await until(() => /"url":"http:\/\/127\.0\.0\.1:\d+"/.test(out) || live?.exitCode !== null, 15_000, 'the live server');
  livePort = Number(/"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out)?.[1] ?? 0);
  if (livePort === 0) {
    throw new Error(`the live server did not start:\n${out}`);
  }
});

afterAll(async () => {
  if (live && live.exitCode === null) {
    const exited = new Promise((resolve) => live?.once('exit', resolve));
    live.kill('SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

// Stopping a block's servers finds their processes in /proc (see heliographProcesses): Linux, as CI.
describe.skipIf(!existsSync('/proc/self/stat'))('docs that run', () => {
  it('finds the blocks, and every skipped block still exists', () => {
    expect(BLOCKS.length).toBeGreaterThan(5);
    const keys = new Set(BLOCKS.map((b) => b.key));
    expect(Object.keys(SKIPPED).filter((key) => !keys.has(key))).toEqual([]);
    expect(Object.keys(EXPECT).filter((key) => !keys.has(key))).toEqual([]);
    expect(BLOCKS.filter((b) => BLOCKS.filter((other) => other.key === b.key).length > 1).map((b) => b.key)).toEqual([]);
  });

  for (const block of BLOCKS) {
    const skip = SKIPPED[block.key];
    const title = `${block.file}:${block.line}: ${block.text.split('\n')[0] ?? ''}`;
    if (skip !== undefined) {
      it.skip(`${title} (skipped: ${skip})`, () => {});
      continue;
    }
    it(
      title,
      async (ctx) => {
        const used = Object.entries(TOOLS).filter(([tool]) => new RegExp(`\\b${tool} `).test(block.text));
        if (!used.every(([tool, pkg]) => haveTool(tool, pkg))) {
          ctx.skip();
        }
        const at: Places = { livePort, ownPort: await freePort(), backendPort: await freePort(), dataDir };
        const script = substitute(block.text, at);
        const ran = await runBlock(script, blockEnv(at));
        const context = `\n--- block, as run ---\n${script}\n--- output ---\n${ran.output}`;
        expect(ran.problems, context).toEqual([]);
        expect({ code: ran.code, signal: ran.signal }, context).toEqual({ code: 0, signal: null });
        expect(
          ran.stderr.split('\n').filter((line) => line.startsWith('heliograph: ')),
          context,
        ).toEqual([]);
        expect(ran.output.trim(), context).not.toBe('');
        expect(inOrder(ran.output, arrowPatterns(block.text)), context).toBeUndefined();
        for (const pattern of EXPECT[block.key] ?? []) {
          expect(ran.output, context).toMatch(pattern);
        }
      },
      BLOCK_TIMEOUT_MS + 5_000,
    );
  }
});
