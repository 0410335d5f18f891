import { EventHub, type PayloadEvents } from '@heliograph/common';
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

/**
 * The dialect's business events. Listeners run synchronously; one that throws is logged and
 * cannot break signalling or the other listeners.
 */
export class PixelStreamingEvents extends EventHub<PayloadEvents<PixelStreamingEventMap>> {
  constructor(logger: Logger) {
    super((err, event, [payload]) => logger.error({ err, event, streamerId: payload.streamerId }, 'pixel streaming event listener failed'));
  }
}
