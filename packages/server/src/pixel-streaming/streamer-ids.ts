import { PS_CLOSE_CODES, PS_STREAMER_ID_PATTERN, roomPermissions } from '@heliograph/protocol';
import type { Clock } from '@heliograph/common';
import type { Identity } from '../auth/identity.js';
import type { Logger } from '../shared/logger.js';
import type { PixelStreamingConfig } from './config.js';
import type { PsStreamer } from './endpoints.js';
import type { PixelStreamingEvents } from './events.js';
import { matchesAny } from './patterns.js';
import { presenceRoomId, type Presence } from './presence.js';
import type { PsCluster } from './ps-cluster.js';
import { PLACEHOLDER_STREAMER_ID, type StreamerRegistry } from './streamer-registry.js';

/** The seam for refusing streamer ids (id squatting): return false to close the streamer with 1008. */
export type StreamerIdAuthorizer = (
  streamerId: string,
  context: { type: 'Streamer' | 'SFU'; remoteAddress: string; identity: Identity | undefined },
) => boolean;

/** What the dialect's flows share (`SignallingOptions` adds its own). */
export interface FlowOptions {
  config: PixelStreamingConfig;
  clock: Clock;
  logger: Logger;
  presence: Presence;
  events: PixelStreamingEvents;
  authorizeStreamerId?: StreamerIdAuthorizer | undefined;
}

export interface StreamerIdsOptions extends FlowOptions {
  streamers: StreamerRegistry<PsStreamer>;
  /** Tears down a streamer whose id another took (`PsSignalling.evict`). */
  evict: (streamer: PsStreamer) => void;
  /** The node's cluster, once `PsSignalling.attachCluster` ran. */
  cluster: () => PsCluster | undefined;
}

/** WebSocket 1013 (Try Again Later): a streamer whose id the cluster could not record. */
const TRY_AGAIN_LATER = 1013;

/** What `streamer.*` events say of a streamer. */
export function eventInfo(streamer: PsStreamer, at: number) {
  return { streamerId: streamer.id, type: streamer.type, remoteAddress: streamer.socket.remoteAddress, at };
}

/** Streamer ids: `endpointId`, on one node or claimed across a cluster (`PsClusterIds`). */
export class StreamerIds {
  constructor(readonly opts: StreamerIdsOptions) {}

  /**
   * `endpointId`: authorise, de-duplicate, rename, confirm (§4.6 with Epic's quirks fixed). In a
   * cluster the id is claimed in the directory first, so the confirmation comes asynchronously.
   */
  identify(streamer: PsStreamer, requested: string | undefined): void | Promise<void> {
    const wanted = requested || PLACEHOLDER_STREAMER_ID;
    if (!PS_STREAMER_ID_PATTERN.test(wanted) || !this.#mayUse(streamer, wanted)) {
      this.opts.logger.info({ streamerId: wanted.slice(0, 100), address: streamer.socket.remoteAddress }, 'streamer id refused');
      streamer.socket.close(PS_CLOSE_CODES.POLICY_VIOLATION, 'streamer id not authorized');
      return;
    }
    const cluster = this.opts.cluster();
    if (cluster && !(streamer.identified && wanted === streamer.id)) {
      return this.#identifyInCluster(streamer, wanted, cluster);
    }
    const holder = this.opts.streamers.holder(wanted, streamer);
    let committed = wanted;
    if (holder) {
      const policy = this.opts.config.duplicateStreamerIds;
      if (policy === 'reject') {
        streamer.socket.close(PS_CLOSE_CODES.POLICY_VIOLATION, 'streamer id in use');
        return;
      }
      if (policy === 'replace') {
        this.opts.evict(holder);
      } else {
        committed = this.opts.streamers.freeId(wanted, streamer);
      }
    }
    return this.#commit(streamer, committed);
  }

  async #identifyInCluster(streamer: PsStreamer, wanted: string, cluster: PsCluster): Promise<void> {
    const outcome = await cluster.ids.claim(streamer, wanted);
    if (!this.opts.streamers.has(streamer)) {
      // It left while the claim was on its way: give the id back.
      if ('id' in outcome && streamer.clusterKey !== undefined) {
        cluster.ids.release(outcome.id, streamer.clusterKey);
      }
      return;
    }
    if ('refused' in outcome) {
      if (outcome.refused === 'in use') {
        streamer.socket.close(PS_CLOSE_CODES.POLICY_VIOLATION, 'streamer id in use');
      } else {
        // Without the directory the id could be taken twice: Unreal reconnects and tries again.
        streamer.socket.close(TRY_AGAIN_LATER, 'cluster unavailable');
      }
      return;
    }
    const committed = outcome.id;
    const clash = this.opts.streamers.holder(committed, streamer);
    if (clash?.identified) {
      // The directory gave us an id this node still holds (it had lost its data): the newest wins.
      this.opts.evict(clash);
    } else if (clash) {
      // An unidentified streamer listed under a placeholder that was claimed: it moves aside.
      this.opts.streamers.rename(clash, this.opts.streamers.freeId(PLACEHOLDER_STREAMER_ID, clash, committed));
    }
    const previous = streamer.identified ? streamer.id : undefined;
    await this.#commit(streamer, committed);
    if (previous !== undefined && previous !== committed && streamer.clusterKey !== undefined) {
      cluster.ids.release(previous, streamer.clusterKey);
    }
  }

  /**
   * Gives a streamer its id: subscribers hear of a rename, presence follows, then the
   * confirmation. In a cluster presence is a directory round trip, awaited before the confirmation.
   */
  #commit(streamer: PsStreamer, committed: string): void | Promise<void> {
    const renamed = streamer.id !== committed;
    this.opts.streamers.rename(streamer, committed);
    streamer.streaming = true;
    if (renamed) {
      // Epic's order: subscribers hear of the rename before the streamer's own confirmation.
      // Those of other nodes hear it from their node, which moves them to the new room first.
      for (const player of streamer.subscribers.values()) {
        if (!player.remote) {
          player.socket.send({ type: 'streamerIdChanged', newID: committed });
        }
      }
    }
    const first = !streamer.identified;
    streamer.identified = true;
    const entered = renamed || first ? this.opts.presence.enterStreamer(streamer) : undefined;
    const confirm = () => this.#confirm(streamer, committed, first, renamed);
    if (entered) {
      return entered.then(confirm);
    }
    confirm();
  }

  /** `renamed`: its presence moved to a new room (its players of other nodes must follow). */
  #confirm(streamer: PsStreamer, committed: string, first: boolean, renamed: boolean): void {
    if (!this.opts.streamers.has(streamer) || streamer.id !== committed) {
      return; // It left (or was renamed again) while presence was on its way.
    }
    // The id the streamer and the business last heard of (a rename overtaken on its way was never confirmed).
    const previousId = streamer.confirmedId;
    streamer.confirmedId = committed;
    if (renamed && !first) {
      // In its new presence room: its players on other nodes are told.
      this.opts.cluster()?.renamed(streamer);
    }
    streamer.socket.send({ type: 'endpointIdConfirm', committedId: committed });
    if (previousId === undefined) {
      this.opts.events.emit('streamer.connected', eventInfo(streamer, this.opts.clock.now()));
    } else if (previousId !== committed) {
      this.opts.events.emit('streamer.renamed', { ...eventInfo(streamer, this.opts.clock.now()), previousId });
    }
  }

  #mayUse(streamer: PsStreamer, id: string): boolean {
    const { allowedStreamerIds } = this.opts.config;
    if (allowedStreamerIds.length > 0 && !matchesAny(allowedStreamerIds, id)) {
      return false;
    }
    const { credential } = streamer;
    if (credential.kind === 'jwt' && !roomPermissions(credential.identity.grants, presenceRoomId(id)).create) {
      return false;
    }
    const identity = credential.kind === 'jwt' ? credential.identity : undefined;
    return this.opts.authorizeStreamerId?.(id, { type: streamer.type, remoteAddress: streamer.socket.remoteAddress, identity }) ?? true;
  }
}
