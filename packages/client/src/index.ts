/** @heliograph/client: the Heliograph SDK for browsers and Node. */
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { CallManager, type CallEvents, type CallManagerOptions, type CallSignalling } from './call/call-manager.js';
export { PeerCall, type CallSignal, type PeerCallOptions } from './call/peer-call.js';
export {
  HeliographClient,
  type ClientEvents,
  type ClientOptions,
  type ConnectionState,
  type ReconnectOptions,
  type StateDetail,
  type WebSocketFactory,
  type WebSocketLike,
} from './client.js';
export { realClock, type ClientClock } from './clock.js';
// The shared primitives the SDK is built on, for code that extends it.
export { Emitter, RequestTracker, type Clock, type EventArgs, type RequestTrackerOptions, type TimerHandle } from '@heliograph/common';
export { HeliographError } from './errors.js';
export type { ErrorCode, EventData, EventType, PeerInfo, RequestData, RequestResult, RequestType, RoomInfo } from '@heliograph/protocol';
