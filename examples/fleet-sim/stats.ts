/** Counters and latency percentiles for the fleet simulator's progress lines and summary. */
export class FleetStats {
  heartbeats = 0;
  commandsAnswered = 0;
  errors = 0;
  readonly roundTripsMs: number[] = [];
  readonly lastErrors: string[] = [];

  error(error: unknown): void {
    this.errors++;
    this.lastErrors.push(error instanceof Error ? error.message : String(error));
    if (this.lastErrors.length > 5) this.lastErrors.shift();
  }

  /** The p-th percentile (0–100) of the command round trips, nearest-rank. */
  percentile(p: number): number | undefined {
    if (this.roundTripsMs.length === 0) return undefined;
    const sorted = [...this.roundTripsMs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  }
}
