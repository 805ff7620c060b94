// The protocol front ends the server starts, in order. Each is a thin adapter over the core.
import type { AdapterFactory } from './adapter.ts';
import { createFtpsAdapter } from './ftp/ftps-adapter.ts';
import { createSftpAdapter } from './sftp/index.ts';

export const PROTOCOL_ADAPTERS: AdapterFactory[] = [createSftpAdapter, createFtpsAdapter];
