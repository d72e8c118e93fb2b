// A progress bar for long runs, on a terminal only: it appears after half a second of wall time and is
// never drawn into a pipe or a file (the caller only makes one when stderr is a TTY).

export class Progress {
  private endNs = 1;
  private startedAt = 0;
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  start(expectedEndNs: number): void {
    this.endNs = Math.max(expectedEndNs, 1);
    this.startedAt = Date.now();
  }

  update(nowNs: number): void {
    const t = Date.now();
    if (t - this.startedAt < 500 || t - this.lastDraw < 100) return;
    this.lastDraw = t;
    const frac = Math.min(nowNs / this.endNs, 1);
    const width = 30;
    const full = Math.round(frac * width);
    this.out.write(`\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(nowNs / 1e9).toFixed(1)} s virtual`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
  }
}
