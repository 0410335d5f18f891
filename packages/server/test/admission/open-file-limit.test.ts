import { afterEach, describe, expect, it } from 'vitest';
import { HEALTH_RESERVE } from '../../src/transport/open-file-limit.js';
import { startNode, type NodeProcess } from '../helpers/node-process.js';
import { httpGet, openIdle, type RawSocket } from './sockets.js';

const OPEN_FILES = 256;
/** 256 less a quarter for files, less the health reserve. */
const DERIVED_CAP = OPEN_FILES - OPEN_FILES / 4 - HEALTH_RESERVE;

let node: NodeProcess | undefined;
const sockets: RawSocket[] = [];
afterEach(async () => {
  sockets.splice(0).forEach((s) => s.destroy());
  await node?.stop();
  node = undefined;
});

/** The parsed JSON log lines of the node so far. */
function logLines(): Array<Record<string, unknown>> {
  return node!
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('a node under a low open-file limit (ulimit -n 256)', () => {
  it('warns once at start, naming the settings and ulimit -n, and derives its socket cap from the limit', async () => {
    node = await startNode(['--pixel-streaming.enabled', 'true', '--pixel-streaming.streamer-port', '0', '--pixel-streaming.sfu-port', '0'], 15_000, {
      openFiles: OPEN_FILES,
    });
    const warnings = logLines().filter((l) => l.level === 40);
    expect(warnings.map((l) => l.msg)).toEqual([
      `open-file limit (ulimit -n) is ${OPEN_FILES}, room for ${DERIVED_CAP} sockets, fewer than limits.maxConnections (10000) + ` +
        'pixelStreaming.maxConnections (10000): clients past it get 503 rather than close 4503; ' +
        'raise `ulimit -n` (systemd LimitNOFILE=, docker --ulimit nofile=) or lower those settings',
    ]);
    expect(logLines().find((l) => l.msg === 'socket cap')).toMatchObject({ maxSockets: DERIVED_CAP, openFiles: OPEN_FILES });

    // The cap is real: with that many sockets open, the node answers probes and refuses the rest cleanly.
    sockets.push(...(await openIdle(Number(new URL(node.url).port), DERIVED_CAP)));
    expect((await httpGet(node.url, '/healthz')).status).toBe(200);
    const refused = await httpGet(node.url, '/v1/rooms');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
  });

  it('does not warn when the limit leaves room for the connection caps', async () => {
    node = await startNode(['--limits.max-connections', '100'], 15_000, { openFiles: OPEN_FILES });
    expect(logLines().filter((l) => l.level === 40)).toEqual([]);
    expect(logLines().find((l) => l.msg === 'socket cap')).toMatchObject({ maxSockets: DERIVED_CAP });
  });
});
