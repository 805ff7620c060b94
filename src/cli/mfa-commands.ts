// `portcullis mfa …`: enrol, confirm, status, disable, recovery codes.
import type { Command } from 'commander';
import QRCode from 'qrcode';
import { openStoreAndAudit } from '../store/open-store.ts';
import { MfaService } from '../auth/mfa/mfa-service.ts';
import { SecretBox } from '../auth/mfa/secret-box.ts';
import { withAdmin } from './admin-context.ts';
import { configFor } from './context.ts';
import { printJson } from './io.ts';

async function withMfa<T>(cmd: Command, name: string, fn: (mfa: MfaService, user: Awaited<ReturnType<Awaited<ReturnType<typeof openStoreAndAudit>>['store']['users']['require']>>) => Promise<T>): Promise<T> {
  const { config } = configFor(cmd);
  const base = await openStoreAndAudit(config);
  try {
    const user = await base.store.users.require(name);
    return await fn(new MfaService(base.store, base.audit, SecretBox.load(config.dataDir), config.mfa), user);
  } finally {
    await base.close();
  }
}

function printRecoveryCodes(codes: string[]): void {
  process.stdout.write('Recovery codes (each works once in place of a code; store them safely, they are not shown again):\n');
  for (const c of codes) process.stdout.write(`  ${c}\n`);
}

export function registerMfaCommands(program: Command): void {
  const mfa = program.command('mfa').description('one-time codes (TOTP) and recovery codes');

  mfa
    .command('enroll <user>')
    .description('create a pending TOTP secret; print its otpauth:// URI and a QR code')
    .option('--json', 'print {"secret", "uri"} only')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      await withMfa(cmd, name, async (service, user) => {
        const { secret, uri } = await service.enroll(user);
        if (opts.json) return printJson({ secret, uri });
        process.stdout.write(`${await QRCode.toString(uri, { type: 'terminal', small: true })}\n`);
        process.stdout.write(`Scan the code (or enter the secret ${secret}) in an authenticator app, then run:\n  portcullis mfa confirm ${user.name} CODE\n${uri}\n`);
      });
    });

  mfa
    .command('confirm <user> <code>')
    .description('activate the pending secret with a current code; prints 10 recovery codes once')
    .option('--json', 'print {"recoveryCodes"}')
    .action(async (name: string, code: string, opts: { json?: boolean }, cmd: Command) => {
      await withMfa(cmd, name, async (service, user) => {
        const codes = await service.confirm(user, code);
        if (opts.json) return printJson({ recoveryCodes: codes });
        process.stdout.write(`MFA is active for ${user.name}.\n`);
        printRecoveryCodes(codes);
      });
    });

  mfa
    .command('status <user>')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, async ({ services }) => {
        const s = await services.mfa.status(name);
        if (opts.json) return printJson(s);
        process.stdout.write(`${name}: MFA ${s.required ? 'required' : 'optional'}, TOTP ${s.state}, ${s.recoveryCodesLeft} recovery codes left${s.lockedUntil ? `, locked until ${s.lockedUntil}` : ''}\n`);
      });
    });

  mfa
    .command('disable <user>')
    .description('remove the TOTP secret and recovery codes (and lift a code lockout)')
    .action(async (name: string, _opts, cmd: Command) => {
      await withAdmin(cmd, async ({ services, actor }) => {
        const after = await services.mfa.reset(actor, name);
        process.stdout.write(`MFA disabled for ${name}${after.required ? ` (MFA is still required: the user cannot log in until \`portcullis mfa enroll ${name}\`)` : ''}\n`);
      });
    });

  mfa
    .command('recovery-codes <user>')
    .description('replace the recovery codes')
    .requiredOption('--regenerate', 'make 10 new codes; the old ones stop working')
    .option('--json', 'print {"recoveryCodes"}')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, async ({ services, actor }) => {
        const codes = await services.mfa.regenerateRecoveryCodes(actor, name);
        if (opts.json) return printJson({ recoveryCodes: codes });
        printRecoveryCodes(codes);
      });
    });
}
