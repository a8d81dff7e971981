import type { Peaks } from './peaks';

/** The waveform's drawing box: bars of 3 units with a gap of 1, 60 high. Pages scale it to their width. */
export const WAVEFORM_BARS = 200;
export const WAVEFORM_WIDTH = WAVEFORM_BARS * 4;
export const WAVEFORM_HEIGHT = 60;

/**
 * An SVG path of bars drawn from a file's peaks, for the server to put in the page as it is: no script needed to
 * see it, no inline style (the page's CSS colours it), about 3 KB with integer coordinates.
 */
export function waveformPath(peaks: Peaks, bars = WAVEFORM_BARS): string {
  const mid = WAVEFORM_HEIGHT / 2;
  const scale = (mid - 1) / 127;
  let d = '';
  for (let bar = 0; bar < bars; bar += 1) {
    const from = Math.floor((bar * peaks.pairs) / bars);
    const to = Math.max(from + 1, Math.floor(((bar + 1) * peaks.pairs) / bars));
    let min = 0;
    let max = 0;
    for (let p = from; p < to && p < peaks.pairs; p += 1) {
      min = Math.min(min, peaks.values[p * 2]);
      max = Math.max(max, peaks.values[p * 2 + 1]);
    }
    const top = Math.round(mid - max * scale);
    const height = Math.max(2, Math.round(mid - min * scale) - top);
    d += `M${bar * 4} ${Math.min(top, mid - 1)}h3v${height}h-3z`;
  }
  return d;
}
