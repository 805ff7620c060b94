import type { TargetScan } from './context.ts';
export async function scanSsh(_s: TargetScan): Promise<void> {}
