/**
 * Waveform peaks: `pairs` (min, max) pairs of a mono mix over the whole file, interleaved, as signed bytes scaled so
 * the loudest sample is ±127 (a quiet bounce still shows its shape). 1,024 pairs are 2 KB.
 */
export interface Peaks {
  pairs: number;
  /** min0, max0, min1, max1 … each −127…127. */
  values: Int8Array;
}

const BLOCK = 256;

/**
 * Folds 16-bit samples into min/max per block of 256 as they stream by, so memory grows by 4 bytes per 256
 * samples (under 1 MB for a 2-hour file at 48 kHz) whatever the file's size; `finish` reduces the blocks to the
 * requested number of pairs.
 */
export class PeakAccumulator {
  private mins = new Int16Array(4096);
  private maxs = new Int16Array(4096);
  private blocks = 0;
  private inBlock = 0;
  private curMin = 32767;
  private curMax = -32768;
  samples = 0;

  add(chunk: Int16Array): void {
    for (let i = 0; i < chunk.length; i += 1) {
      const v = chunk[i];
      if (v < this.curMin) this.curMin = v;
      if (v > this.curMax) this.curMax = v;
      if (++this.inBlock === BLOCK) this.closeBlock();
    }
    this.samples += chunk.length;
  }

  private closeBlock(): void {
    if (this.blocks === this.mins.length) {
      const grow = (a: Int16Array) => {
        const b = new Int16Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.mins = grow(this.mins);
      this.maxs = grow(this.maxs);
    }
    this.mins[this.blocks] = this.curMin;
    this.maxs[this.blocks] = this.curMax;
    this.blocks += 1;
    this.inBlock = 0;
    this.curMin = 32767;
    this.curMax = -32768;
  }

  finish(pairs: number): Peaks {
    if (this.inBlock > 0) this.closeBlock();
    const values = new Int8Array(pairs * 2);
    if (this.blocks === 0) return { pairs, values };
    let loudest = 1;
    for (let b = 0; b < this.blocks; b += 1) loudest = Math.max(loudest, -this.mins[b], this.maxs[b]);
    for (let p = 0; p < pairs; p += 1) {
      // Every pair covers its share of the blocks; a file shorter than `pairs` blocks repeats blocks.
      const from = Math.floor((p * this.blocks) / pairs);
      const to = Math.max(from + 1, Math.floor(((p + 1) * this.blocks) / pairs));
      let min = 32767;
      let max = -32768;
      for (let b = from; b < to && b < this.blocks; b += 1) {
        if (this.mins[b] < min) min = this.mins[b];
        if (this.maxs[b] > max) max = this.maxs[b];
      }
      values[p * 2] = Math.round((min / loudest) * 127);
      values[p * 2 + 1] = Math.round((max / loudest) * 127);
    }
    return { pairs, values };
  }
}

export function peaksToBuffer(peaks: Peaks): Buffer {
  return Buffer.from(peaks.values.buffer, peaks.values.byteOffset, peaks.values.byteLength);
}

export function peaksFromBuffer(buffer: Buffer | Uint8Array): Peaks {
  const values = new Int8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength - (buffer.byteLength % 2));
  return { pairs: values.length / 2, values };
}
