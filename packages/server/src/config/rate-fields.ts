import Type from 'typebox';

/** The refill of a token bucket: a sustained rate per second, above 0. */
export const Rate = (perSecond: number, description: string) => Type.Number({ exclusiveMinimum: 0, default: perSecond, description });

/** The size of a token bucket: how many may come at once, at least 1. */
export const Burst = (size: number, description: string) => Type.Integer({ minimum: 1, default: size, description });
