import { WebSocket } from 'ws';
import type { Findings } from './findings.js';

/** Adds `id` to a list of ids seen lately (the targets fuzzed frames name), keeping the last 16. */
export function remember(list: string[], id: string): void {
  if (!list.includes(id)) {
    list.push(id);
    if (list.length > 16) {
      list.shift();
    }
  }
}

/** A frame from the server as a JSON object; undefined, after a finding on `surface`, when it does not parse. */
export function parseFrame(raw: Buffer, findings: Findings, surface: string, label: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    findings.add(surface, `${label}: the server sent a frame that is not JSON`, raw);
    return undefined;
  }
}

/**
 * What the fuzzer's connections share: the socket and how it closed, and a wait for what the
 * server owes that ends at the answer timeout, at the close, or when `wake()` says to look again.
 */
export abstract class FuzzSocket {
  closed: { code: number; reason: string } | undefined;
  #wake: (() => void) | undefined;

  protected constructor(
    readonly ws: WebSocket,
    readonly answerTimeoutMs: number,
  ) {
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake?.();
    });
  }

  /** Resolves at the first `ready` event; an error or a close before it rejects, naming `label`. */
  protected static ready(ws: WebSocket, label: string, ready: 'open' | 'message'): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        ws.terminate();
        reject(new Error(`${label}: could not connect: ${why}`));
      };
      ws.once('error', (err) => fail(err.message));
      ws.once('close', (code) => fail(`closed with ${code}`));
      ws.once(ready, () => {
        ws.removeAllListeners('error');
        ws.on('error', () => {}); // reported through the close code
        resolve();
      });
    });
  }

  get open(): boolean {
    return this.closed === undefined && this.ws.readyState === WebSocket.OPEN;
  }

  close(): void {
    if (this.open) {
      this.ws.close();
    }
  }

  /** Ends a `settle` wait early, so that it checks again whether anything is still owed. */
  protected wake(): void {
    this.#wake?.();
  }

  /** Waits while `owed()` holds, until the socket closes or the answer timeout passes. */
  protected async settle(owed: () => boolean): Promise<void> {
    const deadline = Date.now() + this.answerTimeoutMs;
    while (owed() && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#wake = undefined;
  }
}
