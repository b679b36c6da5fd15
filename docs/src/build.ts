/**
 * The static build: the pages the router serves, written as files with relative links, plus the
 * assets and the bundled spec, so the site works from any static host:
 *
 *   index.html  openapi.json  assets/*  guides/index.html  guides/<name>.html
 *
 * Try-It sends requests to the origin the page is served from, as on the live server; the API
 * sends no CORS headers, so host the copy on the API's origin (e.g. behind the same proxy).
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ASSETS, type AssetName } from './assets';
import { renderGuidePage, renderGuidesIndex } from './guide-pages';
import { loadGuides } from './guides';
import { staticLinks } from './links';
import { renderReferencePage } from './reference-page';

const SPEC_PATH = new URL('../../openapi/dist/openapi.json', import.meta.url);

/** What a build writes at the top of its output directory; only these are replaced. */
const OUTPUTS = ['index.html', 'openapi.json', 'assets', 'guides'];

/** Writes the site into `outDir` and returns the files written, relative to it. */
export async function buildStaticSite(outDir: string): Promise<string[]> {
  const guides = loadGuides();
  const written: string[] = [];
  /** Makes room for `file` and records it; returns where to put it. */
  const target = async (file: string): Promise<string> => {
    const path = join(outDir, file);
    await mkdir(dirname(path), { recursive: true });
    written.push(file);
    return path;
  };

  // Clear only our own outputs, so a stale guide disappears but nothing else in outDir is touched.
  await Promise.all(OUTPUTS.map((entry) => rm(join(outDir, entry), { recursive: true, force: true })));
  await writeFile(await target('index.html'), renderReferencePage(guides, staticLinks(0)));
  await writeFile(await target('guides/index.html'), renderGuidesIndex(guides, staticLinks(1)));
  for (const guide of guides) {
    await writeFile(
      await target(`guides/${guide.slug}.html`),
      renderGuidePage(guides, staticLinks(1), guide),
    );
  }
  for (const name of Object.keys(ASSETS) as AssetName[])
    await copyFile(ASSETS[name], await target(`assets/${name}`));
  await copyFile(SPEC_PATH, await target('openapi.json'));
  return written;
}
