// End-to-end tests in Debian's Chromium (never a downloaded browser). `./x test` builds dist/ first.
// The whole suite runs twice: with the app at the server's root, and under a sub-path
// (/attention-arcs/), as a teacher's static host would serve it.
import { defineConfig } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';

const port = Number(process.env.E2E_PORT || 8181);
const subPort = port + 1;
// A folder whose attention-arcs/ is dist/: the sub-path case without any server-side logic.
const subRoot = path.resolve('test-results/subpath-root');
fs.mkdirSync(subRoot, { recursive: true });
const link = path.join(subRoot, 'attention-arcs');
try { fs.unlinkSync(link); } catch { /* not there yet */ }
fs.symlinkSync(path.resolve('dist'), link);

const launchOptions = {
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

export default defineConfig({
  testDir: 'www/e2e',
  outputDir: 'test-results/artifacts',
  timeout: 60_000,
  workers: 1,
  reporter: [['list']],
  use: { viewport: { width: 1280, height: 900 }, acceptDownloads: true, launchOptions },
  projects: [
    { name: 'root', use: { baseURL: `http://127.0.0.1:${port}/` } },
    { name: 'subpath', use: { baseURL: `http://127.0.0.1:${subPort}/attention-arcs/` } },
  ],
  webServer: [
    { command: `python3 -m http.server ${port} --bind 127.0.0.1 --directory dist`, url: `http://127.0.0.1:${port}/index.html`,
      reuseExistingServer: false, timeout: 30_000, stdout: 'ignore', stderr: 'ignore' },
    { command: `python3 -m http.server ${subPort} --bind 127.0.0.1 --directory ${subRoot}`, url: `http://127.0.0.1:${subPort}/attention-arcs/index.html`,
      reuseExistingServer: false, timeout: 30_000, stdout: 'ignore', stderr: 'ignore' },
  ],
});
