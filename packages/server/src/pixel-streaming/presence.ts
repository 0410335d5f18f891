import type { LeaveReason, PeerInfo } from '@heliograph/protocol';
import type { Delivery, PeerSink } from '../rooms/peer-sink.js';
import type { RoomMembership } from '../rooms/room-membership.js';
import type { JoinRequest, Rooms } from '../rooms/rooms.js';
import { AppError } from '../shared/app-error.js';
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
  /**
   * Who decides a join: this node at once, or in a cluster the directory, so that every node sees
   * the room and its members. Each member joins from the node holding its connection.
   */
  membership: RoomMembership;
  /** A `data` event reached a dialect peer's presence peer: in a cluster, a dialect message from another node. */
  received?: ((who: Endpoint, dataJson: string) => Delivery) | undefined;
}

type Endpoint = PsStreamer | PsPlayer;

/**
 * Maps the dialect onto the room core: an identified streamer is a peer of room `ps:<id>`, and so
 * is every player or SFU subscribed to it. Heliograph's presence (lobby, control API, webhooks)
 * then sees Pixel Streaming sessions like any room; the dialect never routes through the room.
 *
 * A player subscribed to a streamer of another node joins the room from its own node
 * (`cluster-link.ts`): on the streamer's node it has no presence peer.
 *
 * On one node a join is synchronous. In a cluster it is a directory round trip: each endpoint's
 * latest attempt is remembered, and a join that resolves for an endpoint that left, closed or
 * tried again meanwhile is undone, so that no ghost member stays behind. Presence is best effort:
 * only a full room refuses a player; a failed join is logged and the dialect carries on.
 */
export class Presence {
  readonly #attempts = new WeakMap<Endpoint, object>();

  constructor(private readonly opts: PresenceOptions) {}

  /** Puts the streamer (then its subscribers) into the room of its current id, leaving any old one. */
  enterStreamer(streamer: PsStreamer): void | Promise<void> {
    this.leave(streamer);
    const roomId = presenceRoomId(streamer.id);
    const identity = streamer.credential.kind === 'jwt' ? streamer.credential.identity : undefined;
    const max = streamer.type === 'Streamer' ? this.opts.maxPlayersPerStreamer : 0;
    const req: JoinRequest = {
      identity: { userId: `ps-${streamer.type.toLowerCase()}:${streamer.id}`, grants: [{ room: roomId, create: true }], expiresAt: Infinity },
      roomId,
      name: identity?.name ?? streamer.id,
      metadata: { pixelStreaming: { role: streamer.type, streamerId: streamer.id, ...(identity ? { user: identity.userId } : {}) } },
      create: { maxPeers: max > 0 ? max + 1 : undefined, metadata: { pixelStreaming: { streamerId: streamer.id } } },
      sink: this.#sink(streamer),
    };
    const warn = (err: unknown) => this.opts.logger.warn({ err, streamerId: streamer.id }, 'streamer not in presence');
    let entered: PeerInfo[] | Promise<PeerInfo[] | false>;
    try {
      entered = this.#enter(streamer, req, () => true);
    } catch (err) {
      warn(err);
      return;
    }
    if (entered instanceof Promise) {
      return entered.then((ok) => (ok ? this.#bringSubscribers(streamer) : undefined), warn);
    }
    return this.#bringSubscribers(streamer);
  }

  /**
   * Puts a subscriber into its streamer's room. The room's refusal (ROOM_FULL) throws, or in a
   * cluster rejects; any other failure there is logged and resolves without a peer.
   */
  enterPlayer(player: PsPlayer, streamer: PsStreamer): void | Promise<void> {
    const roomId = streamer.peer?.room.id;
    if (roomId === undefined || player.remote) {
      // Unidentified (or still joining) streamers have no room yet: `enterStreamer` brings the
      // players along. A player of another node joins from its own node (`enterRemote`).
      return;
    }
    // A rename of the streamer meanwhile moved the room: this join is stale (the streamer's own re-entry brings the player).
    const entered = this.#enter(player, this.#playerRequest(player, roomId), () => streamer.peer?.room.id === roomId);
    if (entered instanceof Promise) {
      return entered.then(
        () => undefined,
        (err: unknown) => {
          if (err instanceof AppError && err.code === 'ROOM_FULL') {
            throw err;
          }
          this.opts.logger.warn({ err, playerId: player.id }, 'player not in presence');
        },
      );
    }
  }

  /**
   * Puts a player of this node into the room of a streamer held by another node. Resolves the
   * streamer's presence peer there, or undefined when the room has none or the attempt went
   * stale; rejects when the room refuses the player (ROOM_FULL) or cannot be joined.
   */
  async enterRemote(player: PsPlayer, streamerId: string): Promise<string | undefined> {
    this.leave(player);
    const others = await this.#enter(player, this.#playerRequest(player, presenceRoomId(streamerId)), () => true);
    return others ? others.find((p) => isStreamerOf(p, streamerId))?.id : undefined;
  }

  #playerRequest(player: PsPlayer, roomId: string): JoinRequest {
    const identity = player.identity;
    return {
      identity: { userId: `ps-${player.type.toLowerCase()}:${player.id}`, grants: [{ room: roomId, join: true }], expiresAt: Infinity },
      roomId,
      name: identity?.name ?? player.id,
      metadata: {
        ...identity?.metadata,
        pixelStreaming: { role: player.type, playerId: player.id, ...(identity ? { user: identity.userId } : {}) },
      },
      sink: this.#sink(player),
    };
  }

  /** Leaves the room; a join still on its way for `who` is undone when it lands. */
  leave(who: Endpoint, reason: LeaveReason = 'left'): void {
    this.#attempts.delete(who);
    const peer = who.peer;
    who.peer = undefined;
    if (peer) {
      this.opts.rooms.leave(peer, reason);
    }
  }

  /**
   * Joins `who`: at once on one node (or throws), else through the directory. Gives the members
   * that were there before once `who.peer` is set; false when the attempt went stale on the way
   * (left, closed, tried again, or `valid()` no longer holds) and its peer, if any, was taken out again.
   */
  #enter(who: Endpoint, req: JoinRequest, valid: () => boolean): PeerInfo[] | Promise<PeerInfo[] | false> {
    const attempt = {};
    this.#attempts.set(who, attempt);
    const current = () => this.#attempts.get(who) === attempt && !who.socket.closed && valid();
    const joined = this.opts.membership.join(req, () => !current());
    if (!(joined instanceof Promise)) {
      this.#attempts.delete(who);
      who.peer = joined.peer;
      return joined.others;
    }
    return joined.then(
      ({ peer, others }) => {
        if (!current()) {
          this.opts.rooms.leave(peer, 'left');
          return false;
        }
        this.#attempts.delete(who);
        who.peer = peer;
        return others;
      },
      (err: unknown) => {
        if (!current()) {
          return false; // Gone or superseded (the cluster's join undid itself): nothing to report.
        }
        this.#attempts.delete(who);
        throw err;
      },
    );
  }

  /** The streamer's room changed: its subscribers follow (best effort, each on its own: a refusal only leaves one out). */
  #bringSubscribers(streamer: PsStreamer): void | Promise<void> {
    const entering: Array<Promise<void>> = [];
    for (const player of streamer.subscribers.values()) {
      this.leave(player);
      const warn = (err: unknown) => this.opts.logger.warn({ err, playerId: player.id }, 'player not in presence');
      try {
        const entered = this.enterPlayer(player, streamer);
        if (entered) {
          entering.push(entered.catch(warn));
        }
      } catch (err) {
        warn(err);
      }
    }
    if (entering.length > 0) {
      return Promise.all(entering).then(() => undefined);
    }
  }

  #sink(who: Endpoint): PeerSink {
    return {
      // Native room events (peer.joined…) mean nothing to Epic's peers; only presence matters,
      // and the dialect's messages from another node, which come as `data`.
      sendEvent: (type, dataJson): Delivery => {
        if (who.socket.closed) {
          return 'gone';
        }
        return type === 'data' && this.opts.received ? this.opts.received(who, dataJson) : 'ok';
      },
      detached: (reason: LeaveReason) => {
        who.peer = undefined;
        this.opts.onDetached(who, reason);
      },
    };
  }
}

/**
 * Whether a member is the streamer (or SFU) `streamerId` as `enterStreamer` put it in its room.
 * An SFU's player side has user `ps-sfu:<player id>` too, so an SFU is told apart by its metadata.
 */
function isStreamerOf(member: PeerInfo, streamerId: string): boolean {
  if (member.userId === `ps-streamer:${streamerId}`) {
    return true;
  }
  const ps = member.metadata.pixelStreaming;
  return member.userId === `ps-sfu:${streamerId}` && typeof ps === 'object' && ps !== null && 'streamerId' in ps && ps.streamerId === streamerId;
}
