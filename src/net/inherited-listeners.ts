// Listening sockets this process was started with instead of binding its own: from systemd
// socket activation (sd_listen_fds(3): LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID; the unit's
// FileDescriptorName= names them) or from a Portcullis process handing its listeners over to its
// successor (SIGUSR2, src/net/hand-over.ts). A listener takes the descriptor of its own name
// (`sftp`, `ftps`, `ftps-implicit`): the kernel's accept queue is shared, so a connection that
// arrives while one process stops and the next starts waits in it instead of being refused.

/** The first passed descriptor (SD_LISTEN_FDS_START). */
export const FIRST_INHERITED_FD = 3;

let table: Map<string, number> | undefined;

/** Reads the environment once and removes the variables, so that our own children never see them. */
function inherited(env: NodeJS.ProcessEnv = process.env): Map<string, number> {
  if (table) return table;
  table = new Map();
  const count = Number(env.LISTEN_FDS ?? 0);
  // LISTEN_PID names the process the descriptors are meant for (systemd sets it; a hand-over
  // cannot know its child's pid in advance and leaves it out).
  const forUs = env.LISTEN_PID === undefined || Number(env.LISTEN_PID) === process.pid;
  if (Number.isInteger(count) && count > 0 && forUs) {
    const names = (env.LISTEN_FDNAMES ?? '').split(':');
    for (let i = 0; i < count; i++) table.set(names[i] || `fd${FIRST_INHERITED_FD + i}`, FIRST_INHERITED_FD + i);
  }
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  delete env.LISTEN_PID;
  return table;
}

/** The inherited descriptor for a listener, once (a second call for the same name gets none). */
export function takeInheritedFd(name: string): number | undefined {
  const t = inherited();
  const fd = t.get(name);
  t.delete(name);
  return fd;
}

/** Names of inherited descriptors no listener took (a unit's socket named for nothing we serve). */
export function unclaimedInheritedFds(): string[] {
  return [...inherited().keys()];
}
