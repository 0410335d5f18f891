import type { Config } from './config/schema.js';
import type { Clock } from './shared/clock.js';
import type { IdGenerator } from './shared/ids.js';
import type { Logger } from './shared/logger.js';

export interface HeliographOptions {
  clock?: Clock;
  ids?: IdGenerator;
  logger?: Logger;
}

/** A running Heliograph node. `close()` is idempotent and frees every port, timer and handle. */
export interface Heliograph {
  /** Starts listening; resolves with the base URL (`http://127.0.0.1:8080`). */
  listen(): Promise<string>;
  close(): Promise<void>;
  readonly url: string;
}

/** The composition root: builds every component from the configuration and wires them. */
export async function createHeliograph(config: Config, options: HeliographOptions = {}): Promise<Heliograph> {
  throw new Error(`not implemented yet ${config.port} ${String(options.clock)}`);
}
