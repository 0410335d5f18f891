import Type, { type Static } from 'typebox';
import { NodeStats } from './node-stats.js';

/** A node that did not answer for its figures. */
const Unreachable = Type.Object({ node: Type.String(), state: Type.Literal('unreachable'), error: Type.String() });

/** The figures of this node, or of every node of its cluster. */
export const Overview = Type.Object({
  at: Type.Number(),
  /** The node that answered. */
  node: Type.String(),
  cluster: Type.Boolean({ description: 'Whether this node is one of a cluster (redis.url)' }),
  rooms: Type.Integer({ description: 'Live rooms: in a cluster, of the whole cluster (the directory)' }),
  nodes: Type.Array(Type.Union([NodeStats, Unreachable])),
});
export type Overview = Static<typeof Overview>;
