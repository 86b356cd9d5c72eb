// Shared by every spec: a test fails on any dialog, page error, or request to another origin than the
// page's own (nothing the user types may leave the browser).
export function guard(page, baseURL, { pageErrors = true } = {}) {
  const origin = new URL(baseURL).origin;
  page.on('dialog', (d) => { throw new Error(`unexpected dialog: ${d.message()}`); });
  if (pageErrors) page.on('pageerror', (e) => { throw new Error(`page error: ${e.message}`); });
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')) throw new Error(`request to another origin: ${u}`);
  });
}
