// The hover loop that bench/browser.mjs times and bench/hover_profile.mjs profiles, run in the page
// (`page.evaluate(hoverInPage, { n, runs })`). Hovers `runs` tokens spread over the first `n`, one a frame,
// as a pointer would. Per hover: the script (the event through the app's synchronous render and its
// microtasks), script plus the style and layout it leaves (forced right after: the issue's
// "script+layout"), and the time to the next frame (paint and commit included); with an empty frame's
// time for scale.
export async function hoverInPage({ n, runs }) {
  const frame = () => new Promise((res) => requestAnimationFrame(() => res()));
  const base = [];
  for (let i = 0; i < 10; i++) { const t = performance.now(); await frame(); base.push(performance.now() - t); }
  const xs = [];
  for (let i = 0; i < runs; i++) {
    const el = document.querySelector(`[data-token-index="${(i * 37 + Math.floor(n / 2)) % n}"]`);
    await frame();
    const t = performance.now();
    el.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    el.dispatchEvent(new MouseEvent('mouseenter'));
    for (let k = 0; k < 4; k++) await Promise.resolve();
    const script = performance.now() - t;
    void document.body.offsetHeight;
    const layout = performance.now() - t;
    await frame();
    xs.push({ script, layout, frame: performance.now() - t });
  }
  base.sort((a, b) => a - b);
  return { xs, emptyFrame: base[Math.floor(base.length / 2)] };
}
