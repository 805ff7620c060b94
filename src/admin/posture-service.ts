// Posture and configuration for admins: the running server's configuration checks
// (posture.* rows, scored by layer; the active scan stays with `portcullis posture` on the
// host) and its effective configuration with secrets redacted.
import type { Config } from '../config/schema.ts';
import { redactSecrets } from '../config/redact.ts';
import { PortcullisError } from '../errors/index.ts';
import { loadLifecycle } from '../posture/lifecycle.ts';
import type { LayerScore, PostureResult } from '../posture/posture.ts';
import type { PostureSnapshot } from '../posture/snapshot.ts';

export interface PostureSummary {
  generatedAt: string;
  overall: number;
  layers: LayerScore[];
  results: PostureResult[];
}

export class PostureService {
  constructor(
    private readonly config: Config,
    /** The running server's snapshot; null outside the server process. */
    private readonly snapshot: (() => Promise<PostureSnapshot>) | null,
  ) {}

  async configurationChecks(now = new Date()): Promise<PostureSummary> {
    if (!this.snapshot) throw new PortcullisError('ERR_CONTROL_UNAVAILABLE', 'posture needs the running server');
    // Loaded on use: posture.ts brings the whole scanner (and ssh2), which the CLI's other
    // commands, built on these services too, should not pay for at start-up.
    const { evaluateConfiguration, scoreLayers } = await import('../posture/posture.ts');
    const results = evaluateConfiguration({ snapshot: await this.snapshot(), lifecycle: loadLifecycle(), now });
    const layers = scoreLayers(results);
    return { generatedAt: now.toISOString(), overall: Math.min(...layers.map((l) => l.score)), layers, results };
  }

  /** The effective configuration, every secret-looking string replaced by `***`. */
  effectiveConfig(): Record<string, unknown> {
    return redactSecrets(this.config) as Record<string, unknown>;
  }
}
