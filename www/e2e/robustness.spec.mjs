// Bad input, broken links, broken files, hostile strings: nothing breaks, nothing runs, nothing leaks.
// Every test also fails on a dialog, a page error or a request to another origin (beforeEach).
import { test, expect } from '@playwright/test';
import { guard } from './guard.mjs';
import fs from 'node:fs';

// page.route cannot see requests made by a service worker: keep it out of these tests.
test.use({ serviceWorkers: 'block' });

test.beforeEach(async ({ page, baseURL }) => guard(page, baseURL));

const HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', 'javascript:alert(1)'];

async function noInjectedElements(page) {
  expect(await page.locator('img').count()).toBe(0);
  expect(await page.locator('script:not([src])').count()).toBe(0);
  expect(await page.locator('iframe, object, embed').count()).toBe(0);
}

test('odd sentences: each gets arcs or a specific message, and the text stays in the box', async ({ page }) => {
  await page.goto('./');
  await page.waitForSelector('path[data-from]');
  const box = page.getByTestId('sentence-input');
  const cases = [
    ['I ❤️ attention 🧠 👩‍👩‍👧!', null],
    ['שלום עולם مرحبا بالعالم', null],
    ['e\u0301te\u0301 naïve café', null],
    ['a\u200db c\u200dd', null],
    ['a\u0007b\u001bc\td', null],
    ['?!...', null],
    ['   \t  ', 'no words'],
    ['', 'no words'],
    ['x'.repeat(10_000), 'characters; the limit'],
    [Array.from({ length: 300 }, (_, i) => `w${i}`).join(' '), '300 tokens'],
    ...HOSTILE.map((h) => [h, null]),
  ];
  for (const [text, error] of cases) {
    await box.fill(text);
    await expect(box).toHaveValue(text);
    if (error) {
      await expect(page.getByTestId('error')).toContainText(error);
    } else {
      await expect(page.getByTestId('error')).toHaveCount(0);
      await expect(page.locator('[data-token-index]').first()).toBeVisible();
    }
    await noInjectedElements(page);
  }
  // NUL cannot be typed, but it can arrive in a link.
  await page.goto('./#s=a%00b%00c');
  await page.waitForSelector('path[data-from]');
  await expect(page.locator('[data-token-index]')).toHaveCount(3);
});

test('hostile strings in every share-link field run nothing and leave a working page', async ({ page }) => {
  const keys = ['s', 'm', 'seed', 'din', 'dout', 'h', 'p', 'mask', 'scale', 'norm', 'causal', 'f', 'pin', 'hide', 'hv', 'v', 'k', 'th',
    'model', 'l', 'hd', 'special', 'pieces', 'unknown<b>'];
  for (const key of keys) {
    for (const h of HOSTILE) {
      await page.goto('about:blank');
      await page.goto(`./#${encodeURIComponent(key)}=${encodeURIComponent(h)}`);
      await page.waitForSelector('[data-testid="sentence-input"]');
      await expect(page.locator('path[data-from]').first()).toBeAttached();
      if (key !== 's') await expect(page.getByTestId('link-notice')).toBeVisible();
      await noInjectedElements(page);
    }
  }
});

test('malformed, truncated, double-encoded and random-byte links', async ({ page }) => {
  const good = 's=' + encodeURIComponent('The cat sat on the mat') + '&m=multi-head&dout=4&h=2&f=2&pin=1&hide=1&hv=mean';
  const links = [];
  for (let cut = 1; cut < good.length; cut += 7) links.push(good.slice(0, cut));
  links.push(encodeURIComponent(good), encodeURIComponent(encodeURIComponent(good)), '%', '%%%', '&&&=&=', '=x', 's=%F0%9F', 's=%C3%28');
  let seed = 7;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed; };
  for (let i = 0; i < 15; i++) {
    links.push(Array.from({ length: 40 }, () => '%' + (rnd() % 256).toString(16).padStart(2, '0')).join(''));
  }
  for (const l of links) {
    await page.goto('about:blank');
    await page.goto('./#' + l);
    await page.waitForSelector('[data-testid="sentence-input"]');
    // Arcs, or (for a link that says the sentence is empty) the message that says so.
    await expect(page.locator('path[data-from], [data-testid="error"]').first()).toBeAttached();
  }
});

test('unknown names and impossible options in links get notices or messages', async ({ page }) => {
  await page.goto('./#m=transformer&model=gpt5&dout=0&p=1.0');
  await page.waitForSelector('path[data-from]');
  const notice = page.getByTestId('link-notice');
  for (const word of ['mode', 'model', 'd_out', 'dropout']) await expect(notice).toContainText(word);
  await page.goto('about:blank');
  await page.goto('./#s=a%20b%20c&m=multi-head&dout=6&h=4');
  await expect(page.getByTestId('error')).toContainText('4 heads do not divide d_out = 6');
  await page.goto('about:blank');
  await page.goto('./#s=a%20b&dout=10000&p=-1');
  await expect(page.getByTestId('link-notice')).toContainText('d_out');
  await expect(page.getByTestId('link-notice')).toContainText('dropout');
});

// Model files that are missing, cut, corrupt or not a model at all.
async function expectModelError(page, pattern) {
  await expect(page.getByTestId('model-error')).toContainText(pattern, { timeout: 60_000 });
  await page.click('button[data-model="toy"]');
  await page.waitForSelector('path[data-from]');
}

test('broken model files: missing, cut half-way, wrong sha256, wrong magic', async ({ page, request }) => {
  const manifest = await (await request.get('models/manifest.json')).json();
  const bundle = manifest.minilm.files[0];
  const real = await (await request.get('models/' + bundle.name)).body();

  await page.route('**/models/' + bundle.name, (r) => r.fulfill({ status: 404, body: 'missing' }));
  await page.goto('./#model=minilm&s=hello');
  await expectModelError(page, 'HTTP 404');
  await page.unroute('**/models/' + bundle.name);

  await page.route('**/models/' + bundle.name, (r) => r.fulfill({ status: 200, body: real.subarray(0, real.length >> 1) }));
  await page.goto('about:blank');
  await page.goto('./#model=minilm&s=hello');
  await expectModelError(page, 'cut');
  await page.unroute('**/models/' + bundle.name);

  const flipped = Buffer.from(real);
  flipped[flipped.length >> 1] ^= 0xff;
  await page.route('**/models/' + bundle.name, (r) => r.fulfill({ status: 200, body: flipped }));
  await page.goto('about:blank');
  await page.goto('./#model=minilm&s=hello');
  await expectModelError(page, 'corrupt');
  await page.unroute('**/models/' + bundle.name);

  // A file whose manifest entry matches it but which is not a model: the parser says why.
  const junk = Buffer.alloc(4096, 7);
  const crypto = await import('node:crypto');
  const junkManifest = { ...manifest, minilm: { files: [{ name: bundle.name, bytes: junk.length, sha256: crypto.createHash('sha256').update(junk).digest('hex') }] } };
  await page.route('**/models/manifest.json', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(junkManifest) }));
  await page.route('**/models/' + bundle.name, (r) => r.fulfill({ status: 200, body: junk }));
  await page.goto('about:blank');
  await page.goto('./#model=minilm&s=hello');
  await expectModelError(page, /magic|bundle|not/i);
});

test('a worker that never answers is noticed and can be restarted', async ({ context }, info) => {
  test.skip(info.project.name === 'subpath', 'one run is enough for a 20 s watchdog');
  test.setTimeout(120_000);
  // A page of its own: the broken worker reports its failure as a page error, which is the point here.
  const page = await context.newPage();
  await page.route('**/worker*_bg.wasm', (r) => r.fulfill({ status: 404, body: 'gone' }));
  await page.goto('./#model=minilm&s=' + encodeURIComponent('kept sentence'));
  // The watchdog waits 20 s of silence (model_state::STALL_MS; a long pass says how far it is every
  // second, so only a stuck worker is silent that long).
  await expect(page.getByTestId('model-stalled')).toBeVisible({ timeout: 40_000 });
  await page.unroute('**/worker*_bg.wasm');
  await page.getByRole('button', { name: 'Restart the model worker' }).click();
  await page.waitForSelector('[data-testid="model-status"][data-ready="true"]', { timeout: 60_000 });
  await expect(page.getByTestId('sentence-input')).toHaveValue('kept sentence');
  await page.waitForSelector('path[data-from]');
});

test('1000 rapid edits while a model runs: the newest input wins', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('./#model=minilm&s=' + encodeURIComponent('warm up the model first'));
  await page.waitForSelector('[data-testid="model-status"][data-ready="true"]', { timeout: 60_000 });
  await page.evaluate(() => {
    const box = document.querySelector('[data-testid="sentence-input"]');
    for (let i = 0; i < 1000; i++) {
      box.value = `edit number ${i} ` + 'and more words '.repeat(i % 7);
      box.dispatchEvent(new InputEvent('input', { bubbles: true }));
    }
    box.value = 'final words here';
    box.dispatchEvent(new InputEvent('input', { bubbles: true }));
  });
  // [CLS] final words here [SEP]
  await expect(page.locator('[data-token-index]')).toHaveCount(5, { timeout: 60_000 });
  await expect(page.locator('[data-token-index="1"]')).toContainText('final');
  await page.waitForTimeout(1500);
  await expect(page.locator('[data-token-index]')).toHaveCount(5);
  await expect(page.getByTestId('sentence-input')).toHaveValue('final words here');
});

test('memory stays flat over 500 recomputes (measured, written to bench/out/memory.json)', async ({ page }, info) => {
  test.skip(info.project.name === 'subpath', 'measured once');
  test.setTimeout(120_000);
  await page.goto('./#s=' + encodeURIComponent('The cat sat on the mat because it was tired'));
  await page.waitForSelector('path[data-from]');
  const sample = () => page.evaluate(() => ({ wasm: window.__arcsPerf.app_wasm_memory_bytes, heap: performance.memory ? performance.memory.usedJSHeapSize : 0, computes: window.__arcsPerf.computes }));
  const before = await sample();
  const modes = ['simplified', 'self', 'causal', 'multi-head'];
  for (let i = 0; i < 500; i++) {
    await page.click(`button[data-mode="${modes[i % 4]}"]`);
  }
  const after = await sample();
  expect(after.computes - before.computes).toBeGreaterThanOrEqual(499);
  fs.mkdirSync('bench/out', { recursive: true });
  fs.writeFileSync('bench/out/memory.json', JSON.stringify({ before, after, recomputes: after.computes - before.computes }, null, 2));
  expect(after.wasm - before.wasm).toBeLessThanOrEqual(16 * 1024 * 1024);
});
