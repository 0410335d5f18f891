import { readFileSync } from 'node:fs';

/** Sockets kept above the cap for `/healthz` and `/readyz`, so a full node still answers its probes. */
export const HEALTH_RESERVE = 32;

/**
 * The soft limit on open files (`ulimit -n`), from Linux's `/proc/self/limits`; undefined where
 * that cannot be read (another OS) or says `unlimited`. Node raises the soft limit to the hard
 * one at start, so this is the hard limit the process was started with.
 */
export function readOpenFileLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const line = /^Max open files\s+(\S+)/m.exec(text);
  const soft = line ? Number(line[1]) : Number.NaN;
  return Number.isInteger(soft) && soft > 0 ? soft : undefined;
}

/** Files kept out of the socket budget: the database, Redis, webhook and room-service calls, logs. */
export function fileReserve(openFiles: number): number {
  return Math.min(256, Math.floor(openFiles / 4));
}

export interface SocketCapInput {
  /** `limits.maxSockets`: 0 = derive it from the open-file limit. */
  maxSockets: number;
  /** The open-file limit, when known. */
  openFiles: number | undefined;
  /** `limits.maxConnections`, plus `pixelStreaming.maxConnections` when it is on, with their names. */
  connections: ReadonlyArray<{ setting: string; value: number }>;
}

export interface SocketCap {
  /** Sockets served normally; `Infinity` when neither configured nor derivable. */
  cap: number;
  /** One line for the start-up log when the open-file limit is too low for the settings. */
  warning: string | undefined;
}

/**
 * The node's socket cap (`limits.maxSockets`, or derived from the open-file limit), and a warning
 * when the open-file limit is too low for the settings: sockets would run out before the
 * connection caps are reached (clients get 503 rather than close 4503), or file descriptors
 * before the socket cap (clients get TCP resets).
 */
export function socketCap(input: SocketCapInput): SocketCap {
  const { maxSockets, openFiles } = input;
  if (openFiles === undefined) {
    return { cap: maxSockets > 0 ? maxSockets : Number.POSITIVE_INFINITY, warning: undefined };
  }
  const derived = Math.max(1, openFiles - fileReserve(openFiles) - HEALTH_RESERVE);
  const cap = maxSockets > 0 ? maxSockets : derived;
  const fix = 'raise `ulimit -n` (systemd LimitNOFILE=, docker --ulimit nofile=) or lower those settings';
  const head = `open-file limit (ulimit -n) is ${openFiles}, room for ${derived} sockets`;
  if (maxSockets > derived) {
    return { cap, warning: `${head}, fewer than limits.maxSockets (${maxSockets}): past it clients get TCP resets; ${fix}` };
  }
  const wanted = input.connections.reduce((sum, c) => sum + c.value, 0);
  if (wanted > derived) {
    const names = input.connections.map((c) => `${c.setting} (${c.value})`).join(' + ');
    return { cap, warning: `${head}, fewer than ${names}: clients past it get 503 rather than close 4503; ${fix}` };
  }
  return { cap, warning: undefined };
}
