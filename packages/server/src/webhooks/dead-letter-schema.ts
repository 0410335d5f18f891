import Type from 'typebox';

/** The fields of a dead letter (`outbox.ts`' `DeadLetter`), for the control API and the nodes' answers. */
export const DEAD_LETTER_FIELDS = {
  id: Type.String({ description: 'The event id' }),
  type: Type.String(),
  room: Type.String({ description: "The event's room, or empty for events of no room" }),
  seq: Type.Integer({ description: "The event's place in its room's sequence" }),
  createdAt: Type.Number(),
  attempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  event: Type.Unknown({ description: 'The event body exactly as it is POSTed' }),
};
