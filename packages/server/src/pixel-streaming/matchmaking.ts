import type { StreamerView } from './service-view.js';

/** Browser players (not SFUs) subscribed to a streamer, on any node. */
export function playerCount(streamer: StreamerView): number {
  return streamer.subscribers.filter((p) => p.type === 'Player').length;
}

/**
 * The streamer a new player should use: identified, streaming, with a free slot, and the fewest
 * players (first in the service's order on a tie), so load spreads and one-player-per-streamer
 * setups fill up one streamer each. SFUs have no player limit. `streamers` are every node's
 * (`ServiceViewSource`), so a player on any node counts and any node's streamer may be picked.
 */
export function pickStreamer(streamers: readonly StreamerView[], maxPlayersPerStreamer: number): StreamerView | undefined {
  let best: StreamerView | undefined;
  for (const s of streamers) {
    const full = s.type === 'Streamer' && maxPlayersPerStreamer > 0 && s.subscribers.length >= maxPlayersPerStreamer;
    if (!s.identified || !s.streaming || full) {
      continue;
    }
    if (!best || playerCount(s) < playerCount(best)) {
      best = s;
    }
  }
  return best;
}
