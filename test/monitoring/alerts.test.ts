// Alerts end to end: real FTPS logins (curl, from several loopback addresses) raise a ban and a
// new-address login; a signed webhook, an email and a syslog datagram each carry them.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { PASSWORD, USER, requireBinary, run, startFtps } from '../ftps/helpers.ts';
import { waitFor } from './helpers.ts';
import { smtpSink, udpListener, webhookReceiver } from './sinks.ts';

const SECRET = 'a webhook secret of some length';

test('ban and new-address login reach the webhook (signed), email and syslog', async (t) => {
  await requireBinary(t, 'curl', 'apt-get install -y curl');
  const hook = await webhookReceiver(t);
  const smtp = await smtpSink(t);
  const udp = await udpListener(t);
  const f = await startFtps(t, {
    defender: { enabled: true, threshold: 2 },
    alerts: {
      webhook: { url: hook.url, secret: SECRET },
      email: { host: '127.0.0.1', port: smtp.port, requireTLS: false, from: 'portcullis@example.test', to: ['ops@example.test'] },
      syslog: { host: '127.0.0.1', port: udp.port, transport: 'udp' },
      // The fixture's own `user add` is a CLI change, alerted whenever the store is next followed
      // (every access.refreshSeconds): off here, this test counts the ban and login alerts.
      rules: { adminChange: false },
    },
  });
  const base = `ftp://127.0.0.1:${f.explicitPort}/`;
  const curl = (from: string, user: string, password: string) => run('curl', ['-sS', '--fail', '--cacert', f.caFile, '--ssl-reqd', '--interface', from, '-u', `${user}:${password}`, base]);

  // An unknown user scores 2: 127.0.0.5 is banned at once.
  assert.notEqual((await curl('127.0.0.5', 'mallory', 'guess')).code, 0);
  // alice's first login ever (no alert), then one from an address never seen for her.
  const first = await curl('127.0.0.1', USER, PASSWORD);
  assert.equal(first.code, 0, first.stderr);
  const second = await curl('127.0.0.3', USER, PASSWORD);
  assert.equal(second.code, 0, second.stderr);

  await waitFor('two webhook alerts', () => hook.hits.length >= 2);
  await f.srv.server.alerts.idle();
  const alerts = hook.hits.map((h) => {
    const ts = String(h.headers['x-portcullis-timestamp']);
    const expected = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${h.body}`).digest('hex')}`;
    assert.equal(h.headers['x-portcullis-signature'], expected, 'HMAC-SHA256 over "<timestamp>.<body>"');
    assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 60);
    assert.equal(h.headers['content-type'], 'application/json');
    return JSON.parse(h.body) as { rule: string; severity: string; summary: string; user?: string; address?: string; id: string };
  });
  assert.deepEqual(alerts.map((a) => a.rule).sort(), ['ban-added', 'new-address-login']);
  const ban = alerts.find((a) => a.rule === 'ban-added')!;
  assert.equal(ban.address, '127.0.0.5');
  const login = alerts.find((a) => a.rule === 'new-address-login')!;
  assert.equal(login.user, USER);
  assert.equal(login.address, '127.0.0.3');
  assert.match(login.summary, /logged in from 127\.0\.0\.3, an address never seen/);

  await waitFor('two emails', () => smtp.messages.length >= 2);
  const mail = smtp.messages.map((m) => m.data).join('\n');
  assert.match(mail, /Subject: \[portcullis\] warning: Address 127\.0\.0\.5 banned/);
  assert.match(mail, /127\.0\.0\.3/);
  assert.match(smtp.messages[0]!.to.join(), /ops@example\.test/);

  await waitFor('two syslog datagrams', () => udp.lines.length >= 2);
  const banLine = udp.lines.find((l) => l.includes('ban-added'))!;
  // <authpriv(10)*8 + warning(4)>1 TIMESTAMP HOST APP PID MSGID [SD] MSG
  assert.match(banLine, /^<84>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ portcullis \d+ ban-added \[portcullis@32473 rule="ban-added" severity="warning" id="[0-9a-f-]{36}" address="127\.0\.0\.5"\] Address 127\.0\.0\.5 banned/);

  // The same alert is not sent twice within the suppression window; the trail records alerts.
  const again = await curl('127.0.0.3', USER, PASSWORD);
  assert.equal(again.code, 0);
  await new Promise((r) => setTimeout(r, 300));
  await f.srv.server.alerts.idle();
  assert.equal(hook.hits.length, 2);
  await f.srv.server.core.trail?.flush(); // the trail writer gathers records for a few ms
  const raised = await f.srv.server.core.store.audit.search({ eventPrefix: 'alert.raised' });
  assert.deepEqual(raised.map((r) => (r as { rule?: string }).rule).sort(), ['ban-added', 'new-address-login']);
});
