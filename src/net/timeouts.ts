// Per-connection timers: a login deadline from accept, then an idle deadline reset by activity.
// Adapters call `authenticated()` once, `touch()` on every command and `hold()` around
// transfers (a long transfer is not idleness).
import type { ErrorCode } from '../errors/index.ts';

export class ConnectionTimers {
  private timer: NodeJS.Timeout | undefined;
  private held = 0;
  private phase: 'login' | 'idle' | 'stopped' = 'login';

  constructor(
    private readonly limits: { loginTimeoutMs: number; idleTimeoutMs: number },
    private readonly onTimeout: (code: ErrorCode) => void,
  ) {
    this.arm(limits.loginTimeoutMs, 'ERR_SESSION_LOGIN_TIMEOUT');
  }

  private arm(ms: number, code: ErrorCode): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.phase = 'stopped';
      this.onTimeout(code);
    }, ms);
    this.timer.unref();
  }

  authenticated(): void {
    if (this.phase !== 'login') return;
    this.phase = 'idle';
    this.arm(this.limits.idleTimeoutMs, 'ERR_SESSION_IDLE_TIMEOUT');
  }

  /** Activity: restarts the idle clock (the login clock keeps running until login). */
  touch(): void {
    if (this.phase === 'idle' && this.held === 0) this.arm(this.limits.idleTimeoutMs, 'ERR_SESSION_IDLE_TIMEOUT');
  }

  /** A transfer started: no idle timeout until the matching `release`. */
  hold(): void {
    this.held += 1;
    if (this.phase === 'idle') clearTimeout(this.timer);
  }

  release(): void {
    this.held = Math.max(0, this.held - 1);
    this.touch();
  }

  stop(): void {
    this.phase = 'stopped';
    clearTimeout(this.timer);
  }
}
