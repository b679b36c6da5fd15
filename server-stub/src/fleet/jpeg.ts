/** What Meridian reads from a JPEG without decoding it: that it is one, and its pixel size. */

/** Start-of-frame markers (baseline, extended, progressive, lossless): they carry the size. */
const START_OF_FRAME = new Set([
  0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf,
]);

/** The pixel size of a JPEG, read from its start-of-frame segment; undefined if it is not one. */
export function jpegSize(image: Buffer): { width: number; height: number } | undefined {
  if (image.length < 4 || image[0] !== 0xff || image[1] !== 0xd8) return undefined;
  let offset = 2;
  while (offset + 9 <= image.length) {
    if (image[offset] !== 0xff) return undefined;
    const marker = image[offset + 1]!;
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    const length = image.readUInt16BE(offset + 2);
    if (START_OF_FRAME.has(marker)) {
      const height = image.readUInt16BE(offset + 5);
      const width = image.readUInt16BE(offset + 7);
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    offset += 2 + length;
  }
  return undefined;
}
