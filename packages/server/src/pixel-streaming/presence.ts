import type { LeaveReason } from '@heliograph/protocol';
import type { Delivery, PeerSink } from '../rooms/peer-sink.js';
import type { Rooms } from '../rooms/rooms.js';
import type { Logger } from '../shared/logger.js';
import type { PsPlayer, PsStreamer } from './endpoints.js';

/** The presence room of a streamer: its players and SFUs are peers in it, beside the streamer. */
export function presenceRoomId(streamerId: string): string {
  return `ps:${streamerId}`;
}

export interface PresenceOptions {
  rooms: Rooms;
  logger: Logger;
  /** Room capacity is subscribers + 1 (the streamer) when the dialect limits players. */
  maxPlayersPerStreamer: number;
  /** The room let go of a dialect peer (control API kick, room closed): close its connection. */
  onDetached: (who: PsStreamer | PsPlayer, reason: LeaveReason) => void;
}

/**
 * Maps the dialect onto the room core: an identified streamer is a peer of room `ps:<id>`, and so
 * is every player or SFU subscribed to it. Heliograph's presence (lobby, control API, webhooks)
 * then sees Pixel Streaming sessions like any room; the dialect never routes through the room.
 */
export class Presence {
  constructor(private readonly opts: PresenceOptions) {}

  /** Puts the streamer (and its subscribers) into the room of its current id, leaving any old one. */
  enterStreamer(streamer: PsStreamer): void {
    this.leave(streamer);
    const roomId = presenceRoomId(streamer.id);
    const identity = streamer.credential.kind === 'jwt' ? streamer.credential.identity : undefined;
    const max = streamer.type === 'Streamer' ? this.opts.maxPlayersPerStreamer : 0;
    try {
      streamer.peer = this.opts.rooms.join({
        identity: { userId: `ps-${streamer.type.toLowerCase()}:${streamer.id}`, grants: [{ room: roomId, create: true }], expiresAt: Infinity },
        roomId,
        name: identity?.name ?? streamer.id,
        metadata: { pixelStreaming: { role: streamer.type, streamerId: streamer.id, ...(identity ? { user: identity.userId } : {}) } },
        create: { maxPeers: max > 0 ? max + 1 : undefined, metadata: { pixelStreaming: { streamerId: streamer.id } } },
        sink: this.#sink(streamer),
      }).peer;
    } catch (err) {
      this.opts.logger.warn({ err, streamerId: streamer.id }, 'streamer not in presence');
      return;
    }
    for (const player of streamer.subscribers.values()) {
      this.leave(player);
      this.tryEnterPlayer(player, streamer);
    }
  }

  /** Puts a subscriber into its streamer's room; throws the room's AppError (ROOM_FULL…). */
  enterPlayer(player: PsPlayer, streamer: PsStreamer): void {
    if (!streamer.peer) {
      return; // Unidentified streamers have no room yet; `enterStreamer` brings the players along.
    }
    const roomId = streamer.peer.room.id;
    const identity = player.identity;
    player.peer = this.opts.rooms.join({
      identity: { userId: `ps-${player.type.toLowerCase()}:${player.id}`, grants: [{ room: roomId, join: true }], expiresAt: Infinity },
      roomId,
      name: identity?.name ?? player.id,
      metadata: {
        ...identity?.metadata,
        pixelStreaming: { role: player.type, playerId: player.id, ...(identity ? { user: identity.userId } : {}) },
      },
      sink: this.#sink(player),
    }).peer;
  }

  tryEnterPlayer(player: PsPlayer, streamer: PsStreamer): void {
    try {
      this.enterPlayer(player, streamer);
    } catch (err) {
      this.opts.logger.warn({ err, playerId: player.id }, 'player not in presence');
    }
  }

  leave(who: PsStreamer | PsPlayer, reason: LeaveReason = 'left'): void {
    const peer = who.peer;
    who.peer = undefined;
    if (peer) {
      this.opts.rooms.leave(peer, reason);
    }
  }

  #sink(who: PsStreamer | PsPlayer): PeerSink {
    return {
      // Native room events (peer.joined…) mean nothing to Epic's peers; only presence matters.
      sendEvent: (): Delivery => (who.socket.closed ? 'gone' : 'ok'),
      detached: (reason: LeaveReason) => {
        who.peer = undefined;
        this.opts.onDetached(who, reason);
      },
    };
  }
}
