import { chromium } from 'playwright-core';
const url = process.argv[2]!;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu','--disable-background-networking','--disable-component-update','--no-first-run'] });
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
await page.goto(`${url}/docs`);
await page.waitForSelector('text=Check that the server is up', { timeout: 60000 });
console.log(await page.locator('[id*="GET/health"], [id*="get/health"]').evaluateAll((els) => els.map((e) => `${e.tagName} id=${e.id}`)));
console.log(await page.locator('aside a, nav a, [role=navigation] a').evaluateAll((els) => els.slice(0, 15).map((e) => `${e.textContent?.trim().slice(0,40)} -> ${e.getAttribute('href')}`)));
console.log('sidebar items', await page.getByText('Check that the server is up').evaluateAll((els) => els.map((e) => `${e.tagName}.${e.className} parent=${e.parentElement?.tagName} ${e.closest('a,button,li')?.outerHTML.slice(0, 200)}`)));
const dialog = page.getByRole('dialog');
console.log(await dialog.evaluate((d) => d.outerHTML.length), await dialog.isVisible());
// bearer field within dialog
console.log('bearer', await dialog.getByText('Bearer Token').evaluateAll((els) => els.map((e) => e.closest('div')?.parentElement?.outerHTML.slice(0, 1500))));
console.log('placeholders', await page.locator('[placeholder="Token"], [data-placeholder="Token"]').evaluateAll((els) => els.map((e) => e.outerHTML.slice(0, 300))));
await browser.close();
