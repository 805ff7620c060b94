// The attacker of confinement-race.test.ts, run in a child process so that it gets a wide
// libuv pool (UV_THREADPOOL_SIZE is read once, when the pool starts): operations of several
// sessions then overlap in the kernel as they do on a busy server.
import { readdirSync } from 'node:fs';
import { LocalVfs } from '../../src/vfs/local.ts';

const [home, outside, budget] = [process.argv[2]!, process.argv[3]!, Number(process.argv[4])];
const BUDGET_MS = budget;

async function attack(): Promise<{ attempts: number; swaps: number; seen: string[]; codes: Record<string, number> }> {
  const sessions = await Promise.all([0, 1, 2, 3, 4, 5].map(() => LocalVfs.open(home)));
  const [swapper, placer1, placer2, ...attackers] = sessions as [LocalVfs, LocalVfs, LocalVfs, ...LocalVfs[]];

  // Step 1: a link whose target is inside the home where it is made ...
  await swapper.mkdir('/a');
  await swapper.symlink('/outside', '/a/evil').catch(() => undefined);
  // ... and a shallower place for it (relative targets climb when the link moves up).
  await swapper.rename('/a/evil', '/evil', false).catch(() => undefined);
  await swapper.mkdir('/d');
  const decoy = async (): Promise<void> => {
    const up = await swapper.openWrite('/d/secret.txt', 'truncate');
    await up.write(Buffer.from('decoy'), 0);
    await up.commit();
  };
  await decoy().catch(() => undefined);

  const seen: string[] = [];
  const initial = readdirSync(outside).join();
  const deadline = Date.now() + BUDGET_MS;
  let attempts = 0;
  let stop = false;
  const codes = new Map<string, number>();
  const quiet = (p: Promise<unknown>): Promise<unknown> => p.catch((e: { code?: string }) => codes.set(String(e.code), (codes.get(String(e.code)) ?? 0) + 1));

  let swaps = 0;
  const swap = async (): Promise<void> => {
    while (!stop) {
      // /d is the real folder, then the link, then the real folder again. The link is put in
      // place by other sessions that keep trying, so the gap between the two is short.
      await quiet(swapper.rename('/d', '/parked', false));
      while (!stop && (await swapper.lstat('/d').then((st) => st.type, () => 'none')) !== 'symlink') await new Promise((r) => setImmediate(r));
      await quiet(swapper.rename('/d', '/evil', false));
      await quiet(swapper.rename('/parked', '/d', false));
      if (++swaps % 16 === 0) await quiet(decoy());
    }
  };
  const placeLink = async (vfs: LocalVfs): Promise<void> => {
    while (!stop) await quiet(vfs.rename('/evil', '/d', true));
  };
  const attack = async (vfs: LocalVfs, n: number): Promise<void> => {
    while (!stop) {
      attempts++;
      const tag = `${n}-${attempts}`;
      const ops = [
        () => quiet(
          (async () => {
            const f = await vfs.openRead('/d/secret.txt');
            const buf = Buffer.alloc(256);
            const got = await f.read(buf, 0, 256, 0);
            await f.close();
            seen.push(buf.subarray(0, got).toString());
          })(),
        ),
        () => quiet(
          (async () => {
            const up = await vfs.openWrite(`/d/planted-${tag}`, 'truncate');
            await up.write(Buffer.from('planted'), 0);
            await up.commit();
          })(),
        ),
        () => quiet(vfs.rename('/d/secret.txt', `/stolen-${tag}`, false)),
        () => quiet(vfs.rename('/a', `/d/moved-${tag}`, false).then(() => vfs.rename(`/d/moved-${tag}`, '/a', false))),
        () => quiet(vfs.mkdir(`/d/dir-${tag}`)),
        () => quiet(vfs.remove('/d/inner/keep.txt')),
        () => quiet(vfs.setAttributes('/d/secret.txt', { mode: 0o666 })),
        () => quiet(vfs.link('/d/secret.txt', `/hard-${tag}`)),
        () => quiet(vfs.symlink('/', `/d/sym-${tag}`)),
      ];
      for (const op of ops) await op();
      if (Date.now() > deadline) stop = true;
      // Only to stop early: the test compares the whole outside tree afterwards.
      if (attempts % 64 === 0 && readdirSync(outside).join() !== initial) stop = true;
    }
  };
  await Promise.all([swap(), placeLink(placer1), placeLink(placer2), ...attackers.map((v, i) => attack(v, i))]);

  return { attempts, swaps, seen, codes: Object.fromEntries(codes) };
}

process.stdout.write(JSON.stringify(await attack()));
