/** The conformance report as JSON (the report itself) and as JUnit XML, which CI systems display. */
import type { ConformanceReport } from './runner';

const escapeXml = (text: string) =>
  text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** One test suite, one test case per check (class name: the operationId). */
export function junitXml(report: ConformanceReport): string {
  const { total, failed, skipped } = report.summary;
  const cases = report.checks.map((check) => {
    const open = `    <testcase classname="${escapeXml(check.operationId)}" name="${escapeXml(check.name)}" time="${seconds(check.durationMs)}"`;
    const detail = escapeXml(check.messages.join('\n'));
    if (check.outcome === 'failed')
      return `${open}>\n      <failure message="${escapeXml(check.messages[0] ?? 'failed')}">${detail}</failure>\n    </testcase>`;
    if (check.outcome === 'skipped')
      return `${open}>\n      <skipped message="${escapeXml(check.messages[0] ?? '')}"/>\n    </testcase>`;
    return `${open}/>`;
  });
  const counts = `tests="${total}" failures="${failed}" errors="0" skipped="${skipped}" time="${seconds(report.durationMs)}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="meridian-conformance" ${counts}>`,
    `  <testsuite name="${escapeXml(`Meridian conformance of ${report.url}`)}" ${counts} timestamp="${report.startedAt}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
