// Password verifications (argon2id, tens of milliseconds of CPU each) wait their turn here,
// in two lanes: addresses with a clean record go first, addresses the defender has scored
// (wrong passwords, refused connections) after them. Under a brute force the attackers'
// verifications queue behind each other, not in front of the owner's: a login from a clean
// address waits for at most the verifications already running. At most `concurrency` run at once,
// which also leaves libuv's thread pool (shared with file I/O) free for transfers.
export type Lane = 'clean' | 'suspect';

export class VerificationQueue {
  private running = 0;
  private readonly waiting: Record<Lane, (() => void)[]> = { clean: [], suspect: [] };

  constructor(private readonly concurrency: number) {}

  async run<T>(lane: Lane, task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting[lane].push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter (clean first), or is freed.
      const next = this.waiting.clean.shift() ?? this.waiting.suspect.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Verifications waiting, per lane (metrics, tests). */
  get queued(): Record<Lane, number> {
    return { clean: this.waiting.clean.length, suspect: this.waiting.suspect.length };
  }
}
