/**
 * The code samples in the rendered reference (Debian's Chromium through playwright-core): an
 * operation opened by its link shows its generated `x-codeSamples` SDK sample as the request
 * example, with the spec's example values (test/sdk-code-samples.test.ts type-checks them all).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../test/support/programs';
import { operationById } from '../../test/support/spec';
import { useTestServer } from '../../test/support/use-test-server';

const TIMEOUT_MS = 120_000;

describe('code samples in the docs', () => {
  const t = useTestServer();
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  }, TIMEOUT_MS);
  afterAll(() => browser?.close());

  it(
    "shows an operation's SDK sample as its request example",
    async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      page.setDefaultTimeout(TIMEOUT_MS / 2);
      await page.goto(`${t.url}/docs#tag/devices/GET/v1/devices/{device_id}`);
      const section = page.locator('section[id$="/tag/devices/GET/v1/devices/{device_id}"]');
      const sample = operationById('getDevice').operation['x-codeSamples']![0]!;
      expect(sample.label).toBe('@meridian/sdk');
      await section.getByText("const result = await meridian.devices.get('dev_").waitFor();
      // biome-ignore lint/performance/useDomNodeTextContent: the text as rendered is what a reader sees
      const shown = await section.innerText();
      expect(shown).toContain('@meridian/sdk');
      for (const line of sample.source.split('\n').filter((line) => line.trim() !== ''))
        expect(shown).toContain(line);
    },
    TIMEOUT_MS,
  );
});
