import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { call, makeUser } from '../users/fixtures.js';
import { jpegBytes, pngBytes, webpLossyBytes } from '../users/images.js';

const MAX_BYTES = 65536;

async function upload(t: TestApi, token: string, bytes: Buffer, name: string, type: string, field = 'image') {
  const form = new FormData();
  form.append(field, new Blob([bytes], { type }), name);
  const res = await fetch(`${t.url}/v1/chat/images`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: await res.json() as any };
}

describe('chat images: upload abuse, attachment, access only for the conversation', () => {
  let t: TestApi;
  beforeAll(async () => { t = await startTestApi({ env: { CHAT_IMAGE_MAX_BYTES: String(MAX_BYTES), CHAT_IMAGE_MAX_PIXELS: '1000000' } }); });
  afterAll(async () => { await t.stop(); });

  it('judges the type by the bytes, bounds size and pixels', async () => {
    const { token } = await makeUser(t, 'user');
    const jpeg = await upload(t, token, jpegBytes(100, 80), 'notes.txt', 'text/plain');
    expect(jpeg.status).toBe(201);
    expect(jpeg.body.data).toMatchObject({ content_type: 'image/jpeg', width: 100, height: 80 });
    expect((await upload(t, token, webpLossyBytes(40, 40), 'x.gif', 'image/gif')).body.data.content_type).toBe('image/webp');
    const php = await upload(t, token, Buffer.from('<?php echo 1; ?>'), 'evil.png', 'image/png');
    expect(php.status).toBe(415);
    expect(php.body.error.code).toBe('unsupported_media_type');
    expect((await upload(t, token, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>'), 'a.png', 'image/png')).status).toBe(415);
    expect((await upload(t, token, Buffer.from('GIF89a\x10\x00\x10\x00\x00\x00\x00', 'latin1'), 'a.jpg', 'image/jpeg')).status).toBe(415);
    const big = await upload(t, token, Buffer.concat([pngBytes(8, 8), Buffer.alloc(MAX_BYTES + 1000)]), 'big.png', 'image/png');
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
    const bomb = await upload(t, token, pngBytes(50000, 50000), 'bomb.png', 'image/png');
    expect(bomb.status).toBe(400);
    expect(bomb.body.error.details.image).toMatch(/50000x50000/);
    expect((await upload(t, token, jpegBytes(2000, 1000), 'wide.jpg', 'image/jpeg')).status).toBe(400);
    expect((await upload(t, token, pngBytes(8, 8), 'x.png', 'image/png', 'file')).status).toBe(400);
    const json = await call(t, 'POST', '/v1/chat/images', { token, body: { image: 'x' } });
    expect(json.status).toBe(415);
  });

  it('serves an image to its uploader and the conversation it was sent in, to no one else', async () => {
    const a = await makeUser(t, 'user');
    const b = await makeUser(t, 'user');
    const c = await makeUser(t, 'user');
    const png = pngBytes(32, 32);
    const up = await upload(t, a.token, png, 'p.png', 'image/png');
    const imageId = up.body.data.id as string;
    const get = (token: string) => fetch(`${t.url}/v1/chat/images/${imageId}`, { headers: { Authorization: `Bearer ${token}` } });
    expect((await get(a.token)).status).toBe(200);
    expect((await get(b.token)).status).toBe(404);
    const conv = (await call(t, 'POST', '/v1/chat/conversations', { token: a.token, body: { user_id: b.user.id } })).body.data.id;
    expect((await call(t, 'POST', `/v1/chat/conversations/${conv}/messages`, { token: b.token, body: { image_id: imageId } })).status).toBe(400);
    const sent = await call(t, 'POST', `/v1/chat/conversations/${conv}/messages`, { token: a.token, body: { image_id: imageId, text: 'look' } });
    expect(sent.status).toBe(201);
    expect(sent.body.data).toMatchObject({ kind: 'image', image_id: imageId, text: 'look' });
    const asB = await get(b.token);
    expect(asB.status).toBe(200);
    expect(asB.headers.get('content-type')).toBe('image/png');
    expect(asB.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await asB.arrayBuffer()).equals(png)).toBe(true);
    expect((await get(c.token)).status).toBe(404);
    expect((await fetch(`${t.url}/v1/chat/images/${imageId}`)).status).toBe(401);
  });
});
