/**
 * The guides: one markdown file each in docs/guides/, listed here in reading order (the nav and
 * the index follow it), then the SDK's manual (sdk/README.md, also its readme on npm) as the page
 * `sdk`. Each file's first line is its `# Title`.
 */
import { readFileSync } from 'node:fs';

export const GUIDES_DIR = new URL('../guides/', import.meta.url);

const SLUGS = [
  'quick-start',
  'authentication',
  'pagination',
  'errors',
  'idempotency',
  'agents',
  'alerting',
  'filters',
  'jobs-and-schedules',
  'scripts',
  'webhooks',
  'software-lifecycle',
  'operating',
] as const;

/** The page of the SDK's manual, and where it is written. */
export const SDK_MANUAL = { slug: 'sdk', file: new URL('../../sdk/README.md', import.meta.url) } as const;

export interface Guide {
  slug: string;
  title: string;
  markdown: string;
}

function loadGuide(slug: string, file: URL, markdown = readFileSync(file, 'utf8')): Guide {
  const title = /^# (.+)\n/.exec(markdown)?.[1];
  if (title === undefined) throw new Error(`${file.pathname} must start with a "# Title" line`);
  return { slug, title, markdown };
}

/**
 * The SDK's manual links to files of the repository (`../examples/sdk`), which the docs site does
 * not serve: such a link keeps its text and loses its target.
 */
const withoutRepositoryLinks = (markdown: string): string =>
  markdown.replace(/\[([^\]]+)\]\(\.\.\/[^)]*\)/g, '$1');

/** Read once when the router or the static build starts; guides change with a release, not per request. */
export function loadGuides(): readonly Guide[] {
  return [
    ...SLUGS.map((slug) => loadGuide(slug, new URL(`${slug}.md`, GUIDES_DIR))),
    loadGuide(
      SDK_MANUAL.slug,
      SDK_MANUAL.file,
      withoutRepositoryLinks(readFileSync(SDK_MANUAL.file, 'utf8')),
    ),
  ];
}
