// Drives Debian's Chromium with puppeteer-core: opens one page, waits for
// the page to set window.interopResult, and writes that result, every
// failed request, the collector's responses, the console and a screenshot.
// Input (JSON on stdin): {url, watch, width, height, screenshot, profile,
// timeoutMs}; the output file is the last argument.
import fs from 'node:fs';
import puppeteer from 'puppeteer-core';

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = process.argv[process.argv.length - 1];
const report = { result: null, failed: [], responses: [], console: [] };

const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  userDataDir: input.profile,
  defaultViewport: { width: input.width, height: input.height, deviceScaleFactor: 1 },
  // The flags every Chromium run here takes (no traffic off loopback);
  // WebGL runs on the software fallback.
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--enable-unsafe-swiftshader'],
});
try {
  const page = await browser.newPage();
  page.on('requestfailed', (r) => report.failed.push({ url: r.url(), method: r.method(), error: r.failure()?.errorText }));
  page.on('response', (r) => {
    if (!r.url().startsWith(input.watch)) return;
    const h = r.headers();
    report.responses.push({
      url: r.url(), status: r.status(), fromCache: r.fromCache(),
      headers: Object.fromEntries(['access-control-allow-origin', 'content-encoding', 'content-length', 'etag', 'cache-control']
        .filter((k) => k in h).map((k) => [k, h[k]])),
    });
  });
  page.on('console', (m) => report.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => report.console.push(`pageerror: ${e.message}`));
  await page.goto(input.url, { waitUntil: 'load' });
  await page.waitForFunction('window.interopResult !== undefined', { timeout: input.timeoutMs, polling: 200 });
  report.result = await page.evaluate(() => window.interopResult);
  await page.screenshot({ path: input.screenshot });
} catch (e) {
  report.console.push(`driver: ${e.message}`);
} finally {
  await browser.close();
  fs.writeFileSync(out, JSON.stringify(report, null, 1));
}
