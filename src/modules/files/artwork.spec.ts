import sharp from 'sharp';
import { encodeArtwork } from './artwork';

describe('encodeArtwork', () => {
  it('re-encodes a PNG into two JPEG sizes', async () => {
    const png = await sharp({ create: { width: 2400, height: 1600, channels: 4, background: '#3344ff' } })
      .png()
      .toBuffer();
    const { large, small } = await encodeArtwork(png);
    expect((await sharp(large).metadata()).format).toBe('jpeg');
    expect((await sharp(large).metadata()).width).toBe(1200);
    expect((await sharp(small).metadata()).width).toBe(300);
  });

  it('refuses bytes that are not an image, and empty files', async () => {
    await expect(encodeArtwork(Buffer.from('GIF89a but really text'))).rejects.toThrow(/JPEG, PNG or WebP/);
    await expect(encodeArtwork(Buffer.alloc(0))).rejects.toThrow(/empty/);
  });

  it('refuses image formats it does not accept', async () => {
    const gif = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } })
      .gif()
      .toBuffer();
    await expect(encodeArtwork(gif)).rejects.toThrow(/JPEG, PNG or WebP/);
  });
});
