// SSH_MSG_USERAUTH_BANNER (RFC 4252 5.4) sent in the middle of authentication: the way sshd
// tells a client why a correct password did not log it in (PAM messages). ssh2 sends a banner
// only once, at SERVICE_ACCEPT, from a fixed config string; it has no call for a later one. This
// module builds the packet with ssh2's own packet writer and send function (both internal, so
// it checks they exist and does nothing when an ssh2 upgrade moved them: the refusal is still
// audited and logged; only the client's hint is lost).
import { createRequire } from 'node:module';
import type { AuthContext } from 'ssh2';

const SSH_MSG_USERAUTH_BANNER = 53;

interface PacketWriter {
  allocStart: number;
  alloc(n: number): Buffer;
  finalize(b: Buffer): Buffer;
}
interface ProtocolInternals {
  _packetRW?: { write?: PacketWriter };
}

const sendPacket = ((): ((proto: unknown, packet: Buffer) => void) | undefined => {
  try {
    const utils = createRequire(import.meta.url)('ssh2/lib/protocol/utils.js') as { sendPacket?: unknown };
    return typeof utils.sendPacket === 'function' ? (utils.sendPacket as (proto: unknown, packet: Buffer) => void) : undefined;
  } catch {
    return undefined;
  }
})();

/** Sends `message` as a userauth banner; false when ssh2's internals are not as expected. */
export function sendUserauthBanner(actx: AuthContext, message: string): boolean {
  const proto = (actx as unknown as { _protocol?: ProtocolInternals })._protocol;
  const writer = proto?._packetRW?.write;
  if (!sendPacket || !writer || typeof writer.alloc !== 'function') return false;
  const text = message.endsWith('\r\n') ? message : `${message}\r\n`;
  const len = Buffer.byteLength(text);
  const p = writer.allocStart;
  const packet = writer.alloc(1 + 4 + len + 4);
  packet[p] = SSH_MSG_USERAUTH_BANNER;
  packet.writeUInt32BE(len, p + 1);
  packet.write(text, p + 5, 'utf8');
  packet.writeUInt32BE(0, p + 5 + len); // language tag: empty
  sendPacket(proto, writer.finalize(packet));
  return true;
}
