import type { Rng } from './mutate.ts';

/** A fuzz target: seeds, a mutator, and a runner that rejects on a hang or an internal error. */
export interface Target<I> {
  readonly name: string;
  seeds(): I[];
  mutate(input: I, rng: Rng, donor: I): I;
  run(input: I, timeoutMs: number): Promise<void>;
  serialize(input: I): Buffer;
  deserialize(data: Buffer): I;
  close?(): Promise<void>;
}
