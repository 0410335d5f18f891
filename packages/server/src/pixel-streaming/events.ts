import type { Logger } from '../shared/logger.js';

/** What business systems hear about streamers (webhooks subscribe here). */
export interface StreamerEventInfo {
  streamerId: string;
  type: 'Streamer' | 'SFU';
  remoteAddress: string;
  /** Milliseconds since the epoch. */
  at: number;
}

export interface PixelStreamingEventMap {
  /** A streamer or SFU identified itself (`endpointId`) for the first time and can be subscribed to. */
  'streamer.connected': StreamerEventInfo;
  /** An identified streamer or SFU went away (socket closed, kept silent, replaced or kicked). */
  'streamer.disconnected': StreamerEventInfo & { reason: 'closed' | 'timeout' | 'replaced' | 'shutdown' };
  /** An identified streamer took another id (`endpointId` again); players were told `streamerIdChanged`. */
  'streamer.renamed': StreamerEventInfo & { previousId: string };
}

export type PixelStreamingEventType = keyof PixelStreamingEventMap;

/**
 * A typed emitter for the dialect's business events. Listeners run synchronously; one that
 * throws is logged and cannot break signalling or the other listeners.
 */
export class PixelStreamingEvents {
  readonly #listeners = new Map<PixelStreamingEventType, Set<(event: never) => void>>();

  constructor(private readonly logger: Logger) {}

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends PixelStreamingEventType>(type: K, listener: (event: PixelStreamingEventMap[K]) => void): () => void {
    const set = this.#listeners.get(type) ?? new Set();
    this.#listeners.set(type, set);
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends PixelStreamingEventType>(type: K, event: PixelStreamingEventMap[K]): void {
    for (const listener of this.#listeners.get(type) ?? []) {
      try {
        (listener as (event: PixelStreamingEventMap[K]) => void)(event);
      } catch (err) {
        this.logger.error({ err, event: type, streamerId: event.streamerId }, 'pixel streaming event listener failed');
      }
    }
  }
}
