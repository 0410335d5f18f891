// What the benchmark (bench/) and `heliograph loadtest` share: the Heliograph load client, the
// timed signal and the percentile summaries.
export {
  heliographTarget,
  JoinError,
  sentAt,
  timedSignal,
  type AckCount,
  type Conn,
  type HeliographTargetOptions,
  type OnSignal,
  type TargetClient,
} from './load-client.js';
export { distribution, percentile, type Distribution } from './stats.js';
