/**
 * The guides: one markdown file each in docs/guides/, listed here in reading order (the nav and
 * the index follow it). Each file's first line is its `# Title`.
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
] as const;

export interface Guide {
  slug: string;
  title: string;
  markdown: string;
}

function loadGuide(slug: string): Guide {
  const markdown = readFileSync(new URL(`${slug}.md`, GUIDES_DIR), 'utf8');
  const title = /^# (.+)\n/.exec(markdown)?.[1];
  if (title === undefined) throw new Error(`docs/guides/${slug}.md must start with a "# Title" line`);
  return { slug, title, markdown };
}

/** Read once when the router or the static build starts; guides change with a release, not per request. */
export function loadGuides(): readonly Guide[] {
  return SLUGS.map(loadGuide);
}
