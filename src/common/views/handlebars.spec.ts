import { formatBytes, formatDuration } from './handlebars';

describe('view formatting', () => {
  it('formats sizes in decimal units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1_500)).toBe('1.5 KB');
    expect(formatBytes(48_000_000)).toBe('48 MB');
    expect(formatBytes(2_147_483_648)).toBe('2.1 GB');
  });

  it('formats durations as m:ss or h:mm:ss', () => {
    expect(formatDuration(5)).toBe('0:05');
    expect(formatDuration(185.4)).toBe('3:05');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.NaN)).toBe('');
  });
});
