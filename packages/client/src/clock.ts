import { hostClock, type Clock } from '@heliograph/common';

/** Time for the SDK (`ClientOptions.clock`), injected so that tests of timeouts and backoff use fake time. */
export type ClientClock = Clock;

/**
 * The real clock. Its timers keep a Node process alive, unlike the server's: a script whose
 * client waits to reconnect must not exit meanwhile.
 */
export const realClock: Clock = hostClock({ keepAlive: true });
