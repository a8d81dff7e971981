import { BadRequestException } from '@nestjs/common';
import sharp from 'sharp';

export const MAX_ARTWORK_BYTES = 15 * 1024 * 1024;
const ACCEPTED = new Set(['jpeg', 'png', 'webp']);

export interface EncodedArtwork {
  large: Buffer;
  small: Buffer;
}

/**
 * Checks that the bytes really are a JPEG, PNG or WebP image (whatever the name or declared type says) and
 * re-encodes it: a 1200 px and a 300 px JPEG, EXIF stripped, orientation applied.
 */
export async function encodeArtwork(input: Buffer): Promise<EncodedArtwork> {
  if (input.length === 0) throw new BadRequestException({ field: 'artwork', message: 'artwork file is empty' });
  if (input.length > MAX_ARTWORK_BYTES) {
    throw new BadRequestException({ field: 'artwork', message: 'artwork must be at most 15 MB' });
  }
  let format: string | undefined;
  try {
    const meta = await sharp(input, { limitInputPixels: 100_000_000 }).metadata();
    format = meta.format;
  } catch {
    format = undefined;
  }
  if (!format || !ACCEPTED.has(format)) {
    throw new BadRequestException({ field: 'artwork', message: 'artwork must be a JPEG, PNG or WebP image' });
  }
  const base = sharp(input, { limitInputPixels: 100_000_000 }).rotate().flatten({ background: '#000000' });
  const [large, small] = await Promise.all([
    base
      .clone()
      .resize(1200, 1200, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 85, mozjpeg: true })
      .toBuffer(),
    base.clone().resize(300, 300, { fit: 'cover' }).jpeg({ quality: 80, mozjpeg: true }).toBuffer(),
  ]);
  return { large, small };
}
