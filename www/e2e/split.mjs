// Helper workers take part in a pass only once they have loaded their copy of the model and the model
// worker has measured a pass alone: `retypeUntilSplit` retypes the sentence (a trailing space more each
// time, so the tokens stay the same) until a pass ran split, and says whether one did.
export async function retypeUntilSplit(page, text) {
  for (let i = 1; i <= 20; i++) {
    const before = await page.evaluate(() => window.__arcsPerf.forwards);
    await page.getByTestId('sentence-input').fill(text + ' '.repeat(i));
    await page.waitForFunction((b) => window.__arcsPerf.forwards > b, before, { timeout: 60_000 });
    if (await page.evaluate(() => window.__arcsPerf.last_forward_helped)) return true;
    await page.waitForTimeout(250);
  }
  return false;
}

// Hovers the last token and reads its drawn arcs: what a split pass and a pass alone must agree on.
export async function lastTokenArcs(page) {
  const n = await page.locator('[data-token-index]').count();
  await page.mouse.move(0, 0);
  await page.hover(`[data-token-index="${n - 1}"]`);
  await page.waitForSelector('path[data-focused="true"]');
  const weights = await page.$$eval('path[data-focused="true"]', (ps) => ps.map((p) => ({ head: +p.dataset.head, to: +p.dataset.to, w: +p.dataset.weight })));
  return { n, weights };
}
