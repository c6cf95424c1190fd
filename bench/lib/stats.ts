// Small helpers shared by the benchmarks: timing and percentiles. Benchmarks print; they never assert on time.

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export async function timeMs<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

export async function sample(count: number, fn: (index: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < count; index += 1) samples.push((await timeMs(() => fn(index))).ms);
  return samples;
}

export function formatMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`;
}

export interface Row {
  readonly name: string;
  readonly samples: readonly number[];
}

/** Prints p50/p99 for each row and its p50 as a multiple of the baseline row's p50. */
export function printTable(title: string, baseline: Row, rows: readonly Row[]): void {
  const base = percentile(baseline.samples, 50);
  console.log(`\n${title}`);
  console.log(
    `${'operation'.padEnd(44)} ${'n'.padStart(5)} ${'p50'.padStart(10)} ${'p99'.padStart(10)} ${'p50/baseline'.padStart(13)}`,
  );
  for (const row of [baseline, ...rows]) {
    const p50 = percentile(row.samples, 50);
    console.log(
      `${row.name.padEnd(44)} ${String(row.samples.length).padStart(5)} ${formatMs(p50).padStart(10)} ${formatMs(percentile(row.samples, 99)).padStart(10)} ${`${(p50 / base).toFixed(1)}x`.padStart(13)}`,
    );
  }
}
