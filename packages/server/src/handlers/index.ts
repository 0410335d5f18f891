import type { HandlerMap } from './handler.js';
import { peerHandlers } from './peer-handlers.js';
import { relayHandlers } from './relay-handlers.js';
import { roomHandlers, type RoomHandlerDeps } from './room-handlers.js';
import { sessionHandlers } from './session-handlers.js';
import type { Clock } from '@heliograph/common';

export type { Handler, HandlerMap, Session } from './handler.js';

/** Every native-protocol handler, one group per domain. The type makes a missing one a compile error. */
export function createHandlers(deps: RoomHandlerDeps & { clock: Clock }): HandlerMap {
  return { ...roomHandlers(deps), ...relayHandlers(), ...peerHandlers(deps), ...sessionHandlers() };
}
