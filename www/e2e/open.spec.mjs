// "Open a model…": tiny models from reference/tiny through the file chooser and by drag-and-drop, their
// arcs checked against HF transformers' numbers, and share links that ask for the same file again.
import { test, expect } from '@playwright/test';
import { guard } from './guard.mjs';
import { lastTokenArcs, retypeUntilSplit } from './split.mjs';
import fs from 'node:fs';
import path from 'node:path';

const TINY = path.resolve('reference/tiny');
const ref = JSON.parse(fs.readFileSync(path.join(TINY, 'tiny_reference.json'), 'utf8'));
const SHOTS = path.resolve('test-results/screenshots');
fs.mkdirSync(SHOTS, { recursive: true });

test.beforeEach(async ({ page, baseURL }) => guard(page, baseURL));

const GGUF = 'llama-gqa.Q8_0.gguf';
const OTHER = 'llama-gqa.Q4_0.gguf';
const seq = ref.sequences[0];

async function focusedWeights(page) {
  return page.$$eval('path[data-focused="true"]', (ps) => ps.map((p) => ({ head: +p.dataset.head, to: +p.dataset.to, w: +p.dataset.weight })));
}

/// Hovers token `i` and checks every head's drawn arcs against HF's layer-0 attention.
async function checkLayer0(page, attentions, i, tol) {
  await page.hover(`[data-token-index="${i}"]`);
  const got = await focusedWeights(page);
  expect(got.length).toBeGreaterThan(0);
  let worst = 0;
  for (const { head, to, w } of got) worst = Math.max(worst, Math.abs(w - attentions[0][head][i][to]));
  expect(worst).toBeLessThan(tol);
}

async function cardReady(page) {
  await page.waitForSelector('[data-testid="model-card"][data-ready="true"]', { timeout: 30_000 });
  await page.waitForSelector('path[data-from]');
}

test('a GGUF file through the file chooser: card, arcs equal to HF, share link asks for the file', async ({ page, context }) => {
  await page.goto('./#m=multi-head&arcs=every&s=' + encodeURIComponent(seq.text));
  await page.locator('[data-testid="open-model-input"]').first().setInputFiles(path.join(TINY, GGUF));
  await cardReady(page);
  const card = page.locator('[data-testid="model-card"]');
  await expect(card).toContainText('tiny-llama-gqa');
  await expect(card).toContainText('llama');
  await expect(card).toContainText('6 (K/V heads 3)');
  await expect(card).toContainText('Q8_0');
  await expect(page.locator('[data-token-index]')).toHaveCount(seq.ids.length);
  await checkLayer0(page, ref.files[GGUF].runs[0].attentions, seq.ids.length - 1, 1e-3);
  // The opened model is on the switch, and the layer picker follows its shape.
  await expect(page.locator('button[data-model="file"]')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.locator('[data-testid="layer"] option')).toHaveCount(2);
  await page.screenshot({ path: path.join(SHOTS, 'open-gguf.png'), fullPage: true });

  // The link records the file; a fresh page asks for it, refuses another file, accepts the right one.
  await page.waitForFunction(() => location.hash.includes('file='));
  const link = page.url();
  expect(decodeURIComponent(link)).toContain(GGUF);
  const fresh = await context.newPage();
  guard(fresh, link);
  await fresh.goto(link);
  const needs = fresh.locator('[data-testid="needs-file"]');
  await expect(needs).toContainText(GGUF);
  await expect(fresh.locator('[data-testid="continue-toy"]')).toBeVisible();
  await fresh.screenshot({ path: path.join(SHOTS, 'open-link-needs-file.png'), fullPage: true });
  await needs.locator('[data-testid="open-model-input"]').setInputFiles(path.join(TINY, OTHER));
  const err = fresh.locator('[data-testid="model-error"]');
  await expect(err).toContainText('is not the file this link was made with');
  const sha = (s) => s.match(/[0-9a-f]{64}/g) || [];
  expect(sha(await err.innerText()).length).toBe(2);
  await err.locator('[data-testid="open-model-input"]').setInputFiles(path.join(TINY, GGUF));
  await cardReady(fresh);
  await expect(fresh.locator('[data-token-index]')).toHaveCount(seq.ids.length);
  // "Continue with the toy model" is always there while the file is missing: it leaves cleanly.
  const third = await context.newPage();
  guard(third, link);
  await third.goto(link);
  await third.click('[data-testid="continue-toy"]');
  await expect(third.locator('button[data-model="toy"]')).toHaveAttribute('aria-pressed', 'true');
  await third.waitForFunction(() => !location.hash.includes('file='));
});

const SPLIT_CASES = [
  ['a GGUF file', [path.join(TINY, GGUF)]],
  ['a Hugging Face folder', ['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => path.join(TINY, 'llama-gqa-hf', f))],
  ['a split GGUF', [1, 2, 3].map((k) => path.join(TINY, `gpt2-split.Q8_0-0000${k}-of-00003.gguf`))],
];
for (const [what, files] of SPLIT_CASES) {
  test(`a decoder opened from ${what} splits its passes over helper workers too, to the same bits`, async ({ page, context, baseURL }, info) => {
    test.skip(info.project.name === 'subpath' && what !== 'a GGUF file', 'the path prefix is the same for every kind of file');
    await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 4 }));
    const long = ref.sequences[1];
    await page.goto('./#m=multi-head&arcs=every&s=' + encodeURIComponent(long.text));
    await page.locator('[data-testid="open-model-input"]').first().setInputFiles(files);
    await cardReady(page);
    // The tiny model's passes take a millisecond, so the worker soon finds working alone faster; but it
    // measures a split pass first: retype (a trailing space each time) until one ran split.
    expect(await retypeUntilSplit(page, long.text)).toBe(true);
    const text = await page.getByTestId('sentence-input').inputValue();
    const split = await lastTokenArcs(page);
    expect(split.weights.length).toBeGreaterThan(6);
    const other = await context.newPage();
    guard(other, baseURL);
    await other.addInitScript(() => { window.__arcsNoHelper = true; });
    await other.goto('./#m=multi-head&arcs=every&s=' + encodeURIComponent(text));
    await other.locator('[data-testid="open-model-input"]').first().setInputFiles(files);
    await cardReady(other);
    expect(await lastTokenArcs(other)).toEqual(split);
  });
}

/// Drops files on the page as a user dragging them from their file manager would.
async function drop(page, files) {
  const payload = files.map((f) => ({ name: path.basename(f), data: [...fs.readFileSync(f)] }));
  await page.evaluate((payload) => {
    const dt = new DataTransfer();
    for (const f of payload) dt.items.add(new File([new Uint8Array(f.data)], f.name));
    window.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, payload);
}

test('a BERT folder, a qwen3 and a GPT-2 GGUF by drag-and-drop, a decoder folder by the chooser', async ({ page }) => {
  const bert = ref.bert_folder.runs[1];
  await page.goto('./#m=multi-head&arcs=every&s=' + encodeURIComponent(bert.text));
  const folder = path.join(TINY, 'bert-tiny');
  await drop(page, ['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => path.join(folder, f)));
  await cardReady(page);
  await expect(page.locator('[data-testid="model-card"]')).toContainText('bert');
  await expect(page.locator('[data-token-index]')).toHaveCount(bert.ids.length);
  await checkLayer0(page, bert.attentions, 2, 1e-3);
  await page.screenshot({ path: path.join(SHOTS, 'open-bert-folder.png'), fullPage: true });

  const s = ref.sequences[1];
  await page.goto('./#m=multi-head&arcs=every&s=' + encodeURIComponent(s.text));
  await drop(page, [path.join(TINY, 'qwen3-gqa4.F16.gguf')]);
  await cardReady(page);
  await expect(page.locator('[data-testid="model-card"]')).toContainText('12 (K/V heads 3)');
  await checkLayer0(page, ref.files['qwen3-gqa4.F16.gguf'].runs[1].attentions, 5, 1e-3);

  // A decoder's Hugging Face folder (Llama 3-style tokenizer: a BOS first), picked file by file.
  const hf = ref.hf_folders['llama-gqa-hf'].runs[0];
  await page.goto('./#m=multi-head&arcs=every&s=' + encodeURIComponent(hf.text));
  const llama = path.join(TINY, 'llama-gqa-hf');
  await page.locator('[data-testid="open-model-input"]').first()
    .setInputFiles(['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => path.join(llama, f)));
  await cardReady(page);
  await expect(page.locator('[data-testid="model-card"]')).toContainText('F16');
  await expect(page.locator('[data-token-index]')).toHaveCount(hf.ids.length);
  await checkLayer0(page, hf.attentions, hf.ids.length - 1, 1e-3);

  // GPT-2, the model the book builds in chapters 4-5: learned positions, LayerNorm, fused QKV.
  await page.goto('./#m=multi-head&arcs=every&s=' + encodeURIComponent(seq.text));
  await drop(page, [path.join(TINY, 'gpt2-tiny.Q8_0.gguf')]);
  await cardReady(page);
  await expect(page.locator('[data-testid="model-card"]')).toContainText('gpt2');
  await checkLayer0(page, ref.files['gpt2-tiny.Q8_0.gguf'].runs[0].attentions, seq.ids.length - 1, 1e-3);
  await page.screenshot({ path: path.join(SHOTS, 'open-gpt2.png'), fullPage: false });
});

test('bad files get a clear message and the page stays usable', async ({ page }) => {
  await page.goto('./#m=self');
  const input = page.locator('[data-testid="open-model-input"]').first();
  for (const [files, want] of [
    [[path.resolve('reference/README.md')], 'missing config.json'],
    [[path.join(TINY, GGUF), path.join(TINY, OTHER)], 'one model at a time'],
    [[path.join(TINY, 'bert-tiny/config.json'), path.join(TINY, 'bert-tiny/vocab.txt')], 'model.safetensors'],
  ]) {
    await input.setInputFiles(files);
    await expect(page.locator('[data-testid="model-error"]')).toContainText(want);
    await page.click('[data-testid="continue-toy"]');
    await expect(page.locator('path[data-from]').first()).toBeVisible();
  }
  // A file that is not GGUF but named like one.
  const fake = path.resolve('test-results/not-a-model.gguf');
  fs.writeFileSync(fake, 'hello, I am a text file');
  await input.setInputFiles(fake);
  await expect(page.locator('[data-testid="model-error"]')).toContainText('not a GGUF file');
  await page.click('[data-testid="continue-toy"]');
  await page.getByTestId('sentence-input').fill('Still works after a bad file');
  await expect(page.locator('[data-token-index]')).toHaveCount(6);
});

test('a file too large for the page is refused up front with the numbers; a long read can be cancelled', async ({ page }) => {
  await page.goto('./#m=self');
  const input = page.locator('[data-testid="open-model-input"]').first();
  // Sparse files: nothing is written to disk, and the browser reads zeros.
  const huge = path.resolve('test-results/huge-model.gguf');
  fs.closeSync(fs.openSync(huge, 'w'));
  fs.truncateSync(huge, 5 * 1024 ** 3);
  await input.setInputFiles(huge);
  const err = page.locator('[data-testid="model-error"]');
  await expect(err).toContainText('5.37 GB');
  await expect(err).toContainText('GB are available');
  await page.click('[data-testid="continue-toy"]');

  const big = path.resolve('test-results/big-model.gguf');
  fs.closeSync(fs.openSync(big, 'w'));
  fs.truncateSync(big, 900 * 1024 ** 2);
  await input.setInputFiles(big);
  await page.click('[data-testid="cancel-open"]');
  await expect(err).toContainText('cancelled');
  await page.click('[data-testid="continue-toy"]');
  await expect(page.locator('path[data-from]').first()).toBeVisible();
  // The worker still opens a model afterwards.
  await page.locator('[data-testid="open-model-input"]').first().setInputFiles(path.join(TINY, GGUF));
  await cardReady(page);
  // Another file chosen while one is read replaces it, with no "cancelled" error flashing in between.
  await page.evaluate(() => {
    window.__errorSeen = false;
    new MutationObserver(() => { if (document.querySelector('[data-testid="model-error"]')) window.__errorSeen = true; })
      .observe(document.body, { childList: true, subtree: true });
  });
  await input.setInputFiles(big);
  await expect(page.getByTestId('model-status')).toContainText('reading', { timeout: 10_000 });
  await input.setInputFiles(path.join(TINY, OTHER));
  await expect(page.locator('[data-testid="model-card"]')).toContainText('Q4_0', { timeout: 60_000 });
  await cardReady(page);
  expect(await page.evaluate(() => window.__errorSeen)).toBe(false);
  fs.rmSync(huge);
  fs.rmSync(big);
});
