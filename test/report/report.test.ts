// `wirebox report` in a real headless browser: Debian's chromium driven by puppeteer-core. No console
// errors, no request leaving the page (self-contained), one topology node per namespace and device, one
// ladder per flow, a click showing a packet's decode line and trace; a screenshot (docs/report.png, the
// README's, with WIREBOX_UPDATE_SCREENSHOT=1).
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlan } from '../../src/cli/common.js';
import { writeReport } from '../../src/cli/report.js';
import { tracePlan } from '../../src/cli/trace.js';
import { buildFlows } from '../../src/trace/flows.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = new URL('../../', import.meta.url).pathname;
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error('CI=true and chromium is not installed (apt-get install chromium)');
  console.warn('skipping the report browser test: chromium is not installed (apt-get install chromium)');
}

describe.runIf(haveChromium)('report.html in headless chromium', () => {
  it('draws the topology and a ladder per flow, without errors or network access', async () => {
    const plan = loadPlan(undefined);
    const out = mkdtempSync(join(tmpdir(), 'wirebox-report-'));
    const file = await writeReport(plan, out);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|(src|href|url)\(?=?["']?https?:/);
    const flows = buildFlows(tracePlan(plan).rec);
    const devices = plan.namespaces.reduce((n, ns) => n + ns.interfaces.filter((i) => i.kind !== 'loopback').length, 0);

    const { launch } = await import('puppeteer-core');
    const browser = await launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: mkdtempSync(join(tmpdir(), 'wirebox-chromium-')),
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      await page.setViewport({ width: 1400, height: 1000 });
      await page.goto(`file://${file}`, { waitUntil: 'load' });
      expect(await page.$$eval('[data-topo-node="namespace"]', (n) => n.length)).toBe(plan.namespaces.length);
      expect(await page.$$eval('[data-topo-node="device"]', (n) => n.length)).toBe(devices);
      expect(await page.$$eval('svg.ladder', (n) => n.length)).toBe(flows.length);
      // a click on the TCP flow's first packet shows its decode line and its trace
      const tcp = flows.findIndex((f) => f.key.startsWith('tcp '));
      await page.click(`[data-packet="p${tcp}-0"] .hit`);
      const detail = await page.$eval('#detail', (d) => d.textContent ?? '');
      expect(detail).toMatch(/Flags \[S\]/);
      expect(detail).toContain('-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE');
      // docs/report.png (the README's picture) is rewritten only when asked, so test runs leave the tree clean
      const shot = process.env.WIREBOX_UPDATE_SCREENSHOT === '1' ? join(ROOT, 'docs/report.png') : join(out, 'report.png');
      await page.screenshot({ path: shot, fullPage: false });
      expect(existsSync(shot)).toBe(true);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
