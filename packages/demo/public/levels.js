// Audio levels with WebAudio: one analyser per stream, read on demand. Drives the microphone meter
// before joining and the speaking highlight in a call.

export class AudioLevels {
  #ctx;
  /** key → { track, source, analyser, buffer } */
  #meters = new Map();

  /** Starts (or resumes) audio processing; call it from a click so that autoplay rules allow it. */
  resume() {
    this.#ctx ??= new AudioContext();
    if (this.#ctx.state === 'suspended') {
      void this.#ctx.resume().catch(() => undefined);
    }
  }

  /** Follows the first audio track of `stream` under `key` (again after the track changes). */
  watch(key, stream) {
    const track = stream?.getAudioTracks().find((t) => t.readyState === 'live');
    const current = this.#meters.get(key);
    if (current?.track === track) {
      return;
    }
    this.unwatch(key);
    if (!track) {
      return;
    }
    this.resume();
    const source = this.#ctx.createMediaStreamSource(new MediaStream([track]));
    const analyser = this.#ctx.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    this.#meters.set(key, { track, source, analyser, buffer: new Float32Array(analyser.fftSize) });
  }

  unwatch(key) {
    const meter = this.#meters.get(key);
    if (meter) {
      meter.source.disconnect();
      this.#meters.delete(key);
    }
  }

  /** The level of `key` now, 0 (silence) to 1, on a scale that suits a meter. */
  level(key) {
    const meter = this.#meters.get(key);
    if (!meter || meter.track.readyState !== 'live' || !meter.track.enabled) {
      return 0;
    }
    meter.analyser.getFloatTimeDomainData(meter.buffer);
    let sum = 0;
    for (const sample of meter.buffer) {
      sum += sample * sample;
    }
    const rms = Math.sqrt(sum / meter.buffer.length);
    // Speech sits around 0.02–0.2 RMS: a square root spreads it over the meter.
    return Math.min(1, Math.sqrt(rms) * 1.6);
  }

  close() {
    for (const key of [...this.#meters.keys()]) {
      this.unwatch(key);
    }
    void this.#ctx?.close().catch(() => undefined);
    this.#ctx = undefined;
  }
}

/**
 * Who is speaking, from levels sampled over time: a peer speaks while its level stays over the
 * threshold (with a short hold, so that pauses between words do not flicker); the active speaker
 * is the loudest one speaking, kept while it speaks and until another speaks.
 */
export class SpeakerDetector {
  #threshold;
  #holdMs;
  #lastLoud = new Map();
  #active;

  constructor({ threshold = 0.22, holdMs = 700 } = {}) {
    this.#threshold = threshold;
    this.#holdMs = holdMs;
  }

  /** Feeds one sample of every level (key → level) taken at `now`; returns `{ speaking, active }`. */
  update(levels, now) {
    let loudest;
    let loudestLevel = 0;
    for (const [key, level] of levels) {
      if (level >= this.#threshold) {
        this.#lastLoud.set(key, now);
        if (level > loudestLevel) {
          loudest = key;
          loudestLevel = level;
        }
      }
    }
    const speaking = new Set();
    for (const [key, at] of this.#lastLoud) {
      if (!levels.has(key)) {
        this.#lastLoud.delete(key);
      } else if (now - at <= this.#holdMs) {
        speaking.add(key);
      }
    }
    // The active speaker keeps the floor while speaking, so two voices at once do not flicker.
    if (!speaking.has(this.#active) && loudest !== undefined) {
      this.#active = loudest;
    } else if (this.#active !== undefined && !levels.has(this.#active)) {
      this.#active = undefined;
    }
    return { speaking, active: this.#active };
  }
}
