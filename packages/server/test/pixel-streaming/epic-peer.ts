import { createRequire } from 'node:module';
import type * as Common from '@epicgames-ps/lib-pixelstreamingcommon-ue5.7';
import { PsInbox, type PsClosed, type PsMessage } from './ps-client.js';

/**
 * Streamers, players and SFUs built on Epic's own published common library
 * (`@epicgames-ps/lib-pixelstreamingcommon-ue5.x`, the one Wilbur, the frontend and the SFU use):
 * every message a test sends is made by the library's `MessageHelpers.createMessage` and sent by
 * its `SignallingProtocol` over its Node transport, so the tests check the messages exactly as
 * Epic's code builds them, not as we think it does.
 */
export const UE_LINES = ['ue5.5', 'ue5.6', 'ue5.7'] as const;
export type UeLine = (typeof UE_LINES)[number];

/** What each UE line's own Wilbur does with `playerId` on streamer→player forwards. */
export const PLAYER_ID_IN_FORWARDS: Record<UeLine, 'keep' | 'strip'> = { 'ue5.5': 'strip', 'ue5.6': 'strip', 'ue5.7': 'keep' };

type CommonLibrary = typeof Common;
type MessageType = Parameters<CommonLibrary['MessageHelpers']['createMessage']>[0];

const require = createRequire(import.meta.url);
const libraries = new Map<UeLine, CommonLibrary>();

/** The published common library of `line` (its CommonJS build; logging off). */
export function commonLibrary(line: UeLine): CommonLibrary {
  let lib = libraries.get(line);
  if (!lib) {
    lib = require(`@epicgames-ps/lib-pixelstreamingcommon-${line}`) as CommonLibrary;
    lib.Logger.InitLogging(lib.LogLevel.Disabled, false);
    libraries.set(line, lib);
  }
  return lib;
}

/** The types of Epic's protocol, from the library's own registry plus the two it leaves out. */
export function protocolTypes(line: UeLine): string[] {
  return [...Object.keys(commonLibrary(line).MessageRegistry), 'streamerIdChanged', 'subscribeFailed'];
}

export class EpicPeer extends PsInbox {
  readonly closed: Promise<PsClosed>;
  #closed = false;

  private constructor(
    readonly line: UeLine,
    readonly protocol: Common.SignallingProtocol,
    name: string,
  ) {
    super(name);
    protocol.transport.on('message', (message: PsMessage) => this.received(message));
    this.closed = new Promise((resolve) =>
      protocol.transport.on('close', (event: { code: number; reason: string }) => {
        this.#closed = true;
        this.woken();
        resolve({ code: event.code, reason: String(event.reason) });
      }),
    );
  }

  static connect(line: UeLine, url: string, name: string): Promise<EpicPeer> {
    const lib = commonLibrary(line);
    const protocol = new lib.SignallingProtocol(new lib.WebSocketTransportNJS());
    const peer = new EpicPeer(line, protocol, `${name} (${line})`);
    return new Promise((resolve, reject) => {
      protocol.transport.on('open', () => resolve(peer));
      protocol.transport.on('error', reject);
      protocol.connect(url);
    });
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  protected sendPing(time: number): void {
    this.send('ping', { time });
  }

  /**
   * Builds a `type` message with the library's `createMessage(Messages[type], params)` and sends
   * it with `SignallingProtocol.sendMessage`. Returns what went on the wire.
   */
  send(type: string, params?: object): PsMessage {
    const { Messages, MessageHelpers } = commonLibrary(this.line);
    const messageType = (Messages as unknown as Record<string, MessageType | undefined>)[type];
    if (!messageType) {
      throw new Error(`${this.line}: Epic's library has no message type ${type}`);
    }
    const message = MessageHelpers.createMessage(messageType, params);
    this.protocol.sendMessage(message);
    return JSON.parse(JSON.stringify(message)) as PsMessage;
  }

  close(): void {
    this.protocol.disconnect();
  }
}
