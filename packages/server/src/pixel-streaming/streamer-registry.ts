/** The id an unidentified streamer is listed under until it sends `endpointId` (Epic's name). */
export const PLACEHOLDER_STREAMER_ID = 'UnknownStreamer';

/** What the registry needs to know of a streamer. */
export interface RegisteredStreamer {
  id: string;
}

/**
 * The streamers (and SFUs) of this node in registration order, by id. Ids are unique: unlike
 * Epic's `sanitizeStreamerId`, a streamer re-sending its own id keeps it, an id that is free is
 * never changed, and ids ending in digits are de-duplicated like any other.
 */
export class StreamerRegistry<S extends RegisteredStreamer> {
  readonly #byId = new Map<string, S>();
  /** Registration order: `listStreamers` and the legacy auto-subscribe depend on it. */
  readonly #order = new Set<S>();

  get size(): number {
    return this.#order.size;
  }

  has(streamer: S): boolean {
    return this.#order.has(streamer);
  }

  get(id: string): S | undefined {
    return this.#byId.get(id);
  }

  /** Every streamer, oldest first. */
  list(): S[] {
    return [...this.#order];
  }

  /** Adds a streamer under a free id derived from `requested`; returns the id it got. */
  add(streamer: S, requested: string): string {
    streamer.id = this.freeId(requested, streamer);
    this.#byId.set(streamer.id, streamer);
    this.#order.add(streamer);
    return streamer.id;
  }

  /** Gives a registered streamer a new id (which must be free for it; see `freeId`). */
  rename(streamer: S, id: string): void {
    if (this.#byId.get(streamer.id) === streamer) {
      this.#byId.delete(streamer.id);
    }
    streamer.id = id;
    this.#byId.set(id, streamer);
  }

  remove(streamer: S): void {
    if (this.#byId.get(streamer.id) === streamer) {
      this.#byId.delete(streamer.id);
    }
    this.#order.delete(streamer);
  }

  /** Who holds `id`, other than `self`. */
  holder(id: string, self?: S): S | undefined {
    const found = this.#byId.get(id);
    return found === self ? undefined : found;
  }

  /**
   * `requested` when nobody else holds it, else the first free of `requested1`, `requested2`…
   * `avoid` is never returned (an id the cluster just gave another streamer of this node).
   */
  freeId(requested: string, self?: S, avoid?: string): string {
    const free = (id: string) => id !== avoid && !this.holder(id, self);
    if (free(requested)) {
      return requested;
    }
    for (let n = 1; ; n++) {
      const candidate = `${requested}${n}`;
      if (free(candidate)) {
        return candidate;
      }
    }
  }
}
