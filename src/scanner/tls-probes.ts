import type { TargetScan } from './context.ts';
export async function scanTls(_s: TargetScan): Promise<void> {}
