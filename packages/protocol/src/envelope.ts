import type { ErrorBody } from './errors.js';
import type { EventData, EventType } from './events.js';
import type { RequestData, RequestResult, RequestType } from './requests.js';

/** A client-chosen request id, echoed in the response: an integer or a short string. */
export type RequestId = number | string;

/** A request as handlers see it: decoded, validated, with its `data` typed by its `type`. */
export type Request = {
  [K in RequestType]: { id: RequestId; type: K; data: RequestData<K> };
}[RequestType];

export type RequestOf<K extends RequestType> = Extract<Request, { type: K }>;

export type OkResponse<K extends RequestType = RequestType> = {
  id: RequestId;
  ok: true;
  data: RequestResult<K>;
};
export type ErrorResponse = { id: RequestId | null; ok: false; error: ErrorBody };
export type Response<K extends RequestType = RequestType> = OkResponse<K> | ErrorResponse;

/** A server push. `seq` counts the events sent on one connection, from 1. */
export type Event = {
  [K in EventType]: { type: K; seq: number; data: EventData<K> };
}[EventType];

/** Any frame the server sends. */
export type ServerFrame = Response | Event;

export function encodeOk(id: RequestId, data: unknown): string {
  return `{"id":${JSON.stringify(id)},"ok":true,"data":${JSON.stringify(data)}}`;
}

export function encodeError(id: RequestId | null, error: ErrorBody): string {
  return `{"id":${JSON.stringify(id)},"ok":false,"error":${JSON.stringify(error)}}`;
}

/**
 * Builds an event frame around `dataJson`, data already serialised once, so that a broadcast or
 * a relay does not stringify the same payload for every recipient.
 */
export function encodeEvent(type: EventType, seq: number, dataJson: string): string {
  return `{"type":"${type}","seq":${seq},"data":${dataJson}}`;
}
