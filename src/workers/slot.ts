// Which worker this process is (workers > 1): its slot (0 … count-1, kept by a replacement) and
// the count, passed in the environment by the primary. FTPS listens for passive data
// connections on its own slice of ftps.passivePorts, so a data connection reaches the worker
// that holds its control connection (the port is bound by that worker alone).

/** Not PORTCULLIS_*: those are configuration keys. */
export const WORKER_SLOT_ENV = 'WORKER_SLOT';
export const WORKER_COUNT_ENV = 'WORKER_COUNT';

export function workerSlot(env: NodeJS.ProcessEnv = process.env): { index: number; count: number } | null {
  const index = Number(env[WORKER_SLOT_ENV]);
  const count = Number(env[WORKER_COUNT_ENV]);
  if (!Number.isInteger(index) || !Number.isInteger(count) || count < 2 || index < 0 || index >= count) return null;
  return { index, count };
}

/** This worker's part of the passive range [low, high]: disjoint, together the whole range. */
export function passiveSlice(low: number, high: number, slot: { index: number; count: number } | null): [number, number] {
  if (!slot) return [low, high];
  const span = high - low + 1;
  const from = low + Math.floor((span * slot.index) / slot.count);
  const to = low + Math.floor((span * (slot.index + 1)) / slot.count) - 1;
  return [from, to];
}
