import type { RoomGrant } from '@heliograph/protocol';

/** Who a connection or request belongs to, as proven by a verified token. */
export interface Identity {
  userId: string;
  name?: string;
  grants: RoomGrant[];
  metadata?: Record<string, unknown>;
  /** When the token expires, in milliseconds since the epoch. */
  expiresAt: number;
}
