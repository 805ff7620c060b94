// Open sessions per user, counted where they are opened: one per SFTP subsystem or SCP exec
// channel, one per logged-in FTP(S) control connection. Taking a slot is one atomic step
// (check and increment together), so concurrent channel opens and logins cannot all pass a
// check that only one of them should pass. This file has the in-process counter (one node);
// a cluster replaces it with a shared one (Redis: a Lua script that increments only below the
// cap, with an expiry refreshed while the node lives) behind the same interface.

/** A taken slot: release it once when the session closes (later calls do nothing). */
export interface SessionSlot {
  release(): void;
}

export interface SessionCounter {
  /**
   * Takes one of the user's `cap` slots, or returns null when all are taken. Atomic: of N
   * concurrent calls with `count` slots free, exactly `count` succeed.
   */
  acquire(user: string, cap: number): Promise<SessionSlot | null>;
  /** Slots the user holds now (live view, CLI). */
  count(user: string): Promise<number>;
}

export class MemorySessionCounter implements SessionCounter {
  private readonly held = new Map<string, number>();

  async acquire(user: string, cap: number): Promise<SessionSlot | null> {
    // SECURITY: no await between the check and the increment: the event loop makes this pair
    // atomic for every caller in this process.
    const n = this.held.get(user) ?? 0;
    if (n >= cap) return null;
    this.held.set(user, n + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = (this.held.get(user) ?? 1) - 1;
        if (left <= 0) this.held.delete(user);
        else this.held.set(user, left);
      },
    };
  }

  async count(user: string): Promise<number> {
    return this.held.get(user) ?? 0;
  }
}
