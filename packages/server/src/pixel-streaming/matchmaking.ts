import type { PsStreamer } from './endpoints.js';

/** Browser players (not SFUs) subscribed to a streamer. */
export function playerCount(streamer: PsStreamer): number {
  let n = 0;
  for (const p of streamer.subscribers.values()) {
    if (p.type === 'Player') {
      n++;
    }
  }
  return n;
}

/**
 * The streamer a new player should use: identified, streaming, with a free slot, and the fewest
 * players (oldest first on a tie), so load spreads and one-player-per-streamer setups fill up
 * one streamer each. SFUs have no player limit. Only this node's streamers for now: the cluster
 * would hand in every node's.
 */
export function pickStreamer(streamers: readonly PsStreamer[], maxPlayersPerStreamer: number): PsStreamer | undefined {
  let best: PsStreamer | undefined;
  for (const s of streamers) {
    const full = s.type === 'Streamer' && maxPlayersPerStreamer > 0 && s.subscribers.size >= maxPlayersPerStreamer;
    if (!s.identified || !s.streaming || full) {
      continue;
    }
    if (!best || playerCount(s) < playerCount(best)) {
      best = s;
    }
  }
  return best;
}
