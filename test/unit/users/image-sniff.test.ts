import { describe, expect, it } from 'vitest';
import { sniffImage } from '../../../api/services/avatars/image-sniff.js';
import { jpegBytes, pngBytes, webpLosslessBytes, webpLossyBytes, webpExtendedBytes } from '../../integration/users/images.js';

describe('image sniffing', () => {
  it('reads PNG dimensions from IHDR', () => {
    expect(sniffImage(pngBytes(640, 480))).toEqual({ contentType: 'image/png', width: 640, height: 480 });
  });
  it('reads JPEG dimensions from the SOF segment after other segments', () => {
    expect(sniffImage(jpegBytes(300, 200))).toEqual({ contentType: 'image/jpeg', width: 300, height: 200 });
  });
  it('reads WebP dimensions from VP8, VP8L and VP8X', () => {
    expect(sniffImage(webpLossyBytes(120, 90))).toEqual({ contentType: 'image/webp', width: 120, height: 90 });
    expect(sniffImage(webpLosslessBytes(1000, 16))).toEqual({ contentType: 'image/webp', width: 1000, height: 16 });
    expect(sniffImage(webpExtendedBytes(5000, 4000))).toEqual({ contentType: 'image/webp', width: 5000, height: 4000 });
  });
  it('refuses other formats, truncated headers and zero sizes', () => {
    expect(sniffImage(Buffer.from('GIF89a\x01\x00\x01\x00'))).toBeNull();
    expect(sniffImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
    expect(sniffImage(pngBytes(10, 10).subarray(0, 20))).toBeNull();
    expect(sniffImage(pngBytes(0, 10))).toBeNull();
    expect(sniffImage(Buffer.from([0xff, 0xd8, 0xff, 0xd9]))).toBeNull();
    expect(sniffImage(Buffer.alloc(0))).toBeNull();
  });
});
