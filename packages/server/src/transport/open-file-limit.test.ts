import { describe, expect, it } from 'vitest';
import { HEALTH_RESERVE, readOpenFileLimit, socketCap } from './open-file-limit.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 4096                 files
Max locked memory         8388608              8388608              bytes
`;

const native = (value: number) => [{ setting: 'limits.maxConnections', value }];

describe('readOpenFileLimit', () => {
  it('reads the soft limit from /proc/self/limits', () => {
    expect(readOpenFileLimit(() => LIMITS)).toBe(1024);
  });

  it('is undefined where the file is missing or the limit is unlimited', () => {
    expect(
      readOpenFileLimit(() => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
    expect(readOpenFileLimit(() => LIMITS.replace('1024   ', 'unlimited'))).toBeUndefined();
    expect(readOpenFileLimit(() => 'nothing here')).toBeUndefined();
  });

  it('reads this process’s limit on Linux', () => {
    if (process.platform === 'linux') {
      expect(readOpenFileLimit()).toBeGreaterThan(0);
    }
  });
});

describe('socketCap', () => {
  it('derives the cap from the open-file limit, less a reserve for files and the health probes', () => {
    expect(socketCap({ maxSockets: 0, openFiles: 20_000, connections: native(10_000) })).toEqual({
      cap: 20_000 - 256 - HEALTH_RESERVE,
      warning: undefined,
    });
    // A small limit keeps a quarter for files.
    expect(socketCap({ maxSockets: 0, openFiles: 256, connections: native(100) }).cap).toBe(256 - 64 - HEALTH_RESERVE);
  });

  it('takes a configured cap as it is', () => {
    expect(socketCap({ maxSockets: 500, openFiles: 20_000, connections: native(10_000) })).toEqual({ cap: 500, warning: undefined });
    expect(socketCap({ maxSockets: 500, openFiles: undefined, connections: native(10_000) })).toEqual({ cap: 500, warning: undefined });
  });

  it('has no cap when the limit is unknown and none is configured', () => {
    expect(socketCap({ maxSockets: 0, openFiles: undefined, connections: native(10_000) }).cap).toBe(Number.POSITIVE_INFINITY);
  });

  it('warns, naming the settings and ulimit -n, when the limit is too low for the connection caps', () => {
    const { warning } = socketCap({
      maxSockets: 0,
      openFiles: 1024,
      connections: [...native(10_000), { setting: 'pixelStreaming.maxConnections', value: 10_000 }],
    });
    expect(warning).toBe(
      'open-file limit (ulimit -n) is 1024, room for 736 sockets, fewer than limits.maxConnections (10000) + pixelStreaming.maxConnections (10000): ' +
        'clients past it get 503 rather than close 4503; raise `ulimit -n` (systemd LimitNOFILE=, docker --ulimit nofile=) or lower those settings',
    );
  });

  it('warns when a configured cap is above what the limit allows', () => {
    const { cap, warning } = socketCap({ maxSockets: 5000, openFiles: 1024, connections: native(100) });
    expect(cap).toBe(5000);
    expect(warning).toMatch(
      /^open-file limit \(ulimit -n\) is 1024, room for 736 sockets, fewer than limits\.maxSockets \(5000\): past it clients get TCP resets/,
    );
  });
});
