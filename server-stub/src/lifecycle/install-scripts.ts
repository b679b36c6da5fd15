/**
 * The install scripts (`GET /v1/agent/install.sh`, `install.ps1`): rendered for this server's URL,
 * one enrolment code and the builds of a channel, each with the SHA-256 the download must have.
 * Every value written into a script is quoted for its shell; test/agent-downloads.test.ts runs
 * shellcheck on the shell script and runs it for real.
 */
import type { Platform } from './agent-releases-store';

export interface ScriptBuild {
  platform: Platform;
  url: string;
  sha256: string;
}

export interface ScriptInput {
  server: string;
  code: string;
  builds: ScriptBuild[];
}

/** `value` as one POSIX shell word: single-quoted, a quote inside written as '\''. */
const sh = (value: string): string => `'${value.replaceAll("'", "'\\''")}'`;

/** `value` as a PowerShell single-quoted string: a quote inside doubled. */
const ps = (value: string): string => `'${value.replaceAll("'", "''")}'`;

export function installShellScript({ server, code, builds }: ScriptInput): string {
  const cases = builds.map((build) =>
    [`  ${build.platform})`, `    url=${sh(build.url)}`, `    sha256=${sh(build.sha256)}`, '    ;;'].join(
      '\n',
    ),
  );
  return `#!/bin/sh
# Installs the Meridian agent and enrols this machine with Meridian at ${server.replace(/[\r\n]/g, '')}.
# Rendered by Meridian for one enrolment code; run it as root: curl -fsSL '<this URL>' | sudo sh
# MERIDIAN_INSTALL_DIR chooses where the agent goes (/usr/local/bin by default).
set -eu

MERIDIAN_SERVER=${sh(server)}
MERIDIAN_CODE=${sh(code)}
INSTALL_DIR="\${MERIDIAN_INSTALL_DIR:-/usr/local/bin}"

fail() {
  echo "meridian install: $*" >&2
  exit 1
}

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=macos ;;
  *) fail "unsupported operating system: $(uname -s)" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) fail "unsupported processor: $(uname -m)" ;;
esac

case "$os-$arch" in
${cases.join('\n')}
  *) fail "Meridian has no agent build for $os-$arch on this channel" ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if command -v curl >/dev/null 2>&1; then
  curl -fsSL -o "$tmp/meridian-agent" "$url" || fail "could not download $url"
elif command -v wget >/dev/null 2>&1; then
  wget -q -O "$tmp/meridian-agent" "$url" || fail "could not download $url"
else
  fail "curl or wget is needed to download the agent"
fi
if command -v sha256sum >/dev/null 2>&1; then
  actual="$(sha256sum "$tmp/meridian-agent" | cut -d ' ' -f 1)"
else
  actual="$(shasum -a 256 "$tmp/meridian-agent" | cut -d ' ' -f 1)"
fi
[ "$actual" = "$sha256" ] || fail "the download's SHA-256 is $actual, not $sha256: nothing installed"

mkdir -p "$INSTALL_DIR"
cp "$tmp/meridian-agent" "$INSTALL_DIR/meridian-agent.new"
chmod 0755 "$INSTALL_DIR/meridian-agent.new"
mv -f "$INSTALL_DIR/meridian-agent.new" "$INSTALL_DIR/meridian-agent"
rm -rf "$tmp"
trap - EXIT
echo "meridian install: installed $INSTALL_DIR/meridian-agent ($sha256), enrolling"
exec "$INSTALL_DIR/meridian-agent" enroll --server "$MERIDIAN_SERVER" --code "$MERIDIAN_CODE"
`;
}

export function installPowerShellScript({ server, code, builds }: ScriptInput): string {
  const table = builds.map(
    (build) => `  ${ps(build.platform)} = @{ Url = ${ps(build.url)}; Sha256 = ${ps(build.sha256)} }`,
  );
  return `# Installs the Meridian agent and enrols this machine with Meridian at ${server.replace(/[\r\n]/g, '')}.
# Rendered by Meridian for one enrolment code; run it in an elevated PowerShell: iwr -useb '<this URL>' | iex
# $env:MERIDIAN_INSTALL_DIR chooses where the agent goes ($env:ProgramFiles\\Meridian by default).
$ErrorActionPreference = 'Stop'
$server = ${ps(server)}
$code = ${ps(code)}
$installDir = if ($env:MERIDIAN_INSTALL_DIR) { $env:MERIDIAN_INSTALL_DIR } else { Join-Path $env:ProgramFiles 'Meridian' }
$arch = if ($env:PROCESSOR_ARCHITECTURE -eq 'ARM64') { 'arm64' } else { 'amd64' }
$builds = @{
${table.join('\n')}
}
$build = $builds["windows-$arch"]
if (-not $build) { throw "Meridian has no agent build for windows-$arch on this channel." }
$file = Join-Path ([System.IO.Path]::GetTempPath()) ("meridian-agent-" + [guid]::NewGuid() + '.exe')
try {
  Invoke-WebRequest -UseBasicParsing -Uri $build.Url -OutFile $file
  $actual = (Get-FileHash -Algorithm SHA256 -Path $file).Hash.ToLowerInvariant()
  if ($actual -ne $build.Sha256) { throw "The download's SHA-256 is $actual, not $($build.Sha256): nothing installed." }
  New-Item -ItemType Directory -Force -Path $installDir | Out-Null
  $agent = Join-Path $installDir 'meridian-agent.exe'
  Move-Item -Force -Path $file -Destination $agent
  & $agent enroll --server $server --code $code
  if ($LASTEXITCODE -ne 0) { throw "meridian-agent enroll failed with exit code $LASTEXITCODE." }
} finally {
  Remove-Item -Force -ErrorAction SilentlyContinue -Path $file
}
`;
}
