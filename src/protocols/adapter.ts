// The contract between the core and a protocol front end (SFTP, FTPS). An adapter owns its
// listeners; for each accepted socket it asks admission first, then drives an AuthFlow, opens
// a Session and translates protocol requests into Session calls.
import type { Core } from '../app.ts';
import type { TlsIdentity } from '../identity/identity.ts';
import type { Listening } from '../net/listener.ts';

export interface BoundListener {
  /** e.g. `sftp`, `ftps (explicit)`, `ftps (implicit)`. */
  name: string;
  /** The URL scheme a client (and `portcullis scan`) uses: explicit FTPS is `ftp://` + AUTH TLS. */
  scheme: 'ftp' | 'ftps' | 'sftp';
  address: string;
  port: number;
}

export interface ProtocolAdapter {
  readonly name: string;
  start(): Promise<BoundListener[]>;
  /** A new certificate (SIGHUP): new connections use it, open ones keep theirs. */
  reloadTls?(tls: TlsIdentity): void;
  /** The listening sockets, by name (handed to the next process on SIGUSR2). */
  listeningSockets(): Listening[];
  /** Stops accepting new connections; open ones go on (the drain on SIGTERM). */
  stopAccepting(): void;
  /** Stops accepting; open connections are closed. */
  stop(): Promise<void>;
}

/** Builds an adapter for the core, or null when the protocol is disabled in the config. */
export type AdapterFactory = (core: Core) => ProtocolAdapter | null;
