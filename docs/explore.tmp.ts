import { chromium } from 'playwright-core';
const url = process.argv[2]!;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu','--disable-background-networking','--disable-component-update','--no-first-run'] });
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
page.on('console', async (m) => { if (m.type() === 'warning') for (const a of m.args()) { const v = await a.jsonValue(); console.log(Array.isArray(v) ? v.map((e: any) => e.path + " " + e.message).join("\n") : v); }; });
await page.goto(`${url}/docs`);
await page.waitForSelector('text=Check that the server is up', { timeout: 60000 });
await page.waitForTimeout(1000);
await browser.close();
