// Receivers for the alert channels: an HTTP webhook receiver, a tiny SMTP server (node:net,
// no TLS, no auth) and a UDP syslog listener. Each keeps what it received.
import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type { TestContext } from 'node:test';

export interface WebhookHit {
  headers: http.IncomingHttpHeaders;
  body: string;
}

export async function webhookReceiver(t: TestContext, status = () => 200): Promise<{ url: string; hits: WebhookHit[] }> {
  const hits: WebhookHit[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const code = status();
      if (code === 200) hits.push({ headers: req.headers, body });
      res.writeHead(code).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, hits };
}

export async function smtpSink(t: TestContext): Promise<{ port: number; messages: { from: string; to: string[]; data: string }[] }> {
  const messages: { from: string; to: string[]; data: string }[] = [];
  const server = net.createServer((sock) => {
    let buf = '';
    let inData = false;
    let from = '';
    let to: string[] = [];
    sock.write('220 sink ESMTP\r\n');
    sock.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          messages.push({ from, to, data: buf.slice(0, end) });
          buf = buf.slice(end + 5);
          inData = false;
          sock.write('250 queued\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') sock.write('250-sink\r\n250 8BITMIME\r\n');
        else if (verb === 'HELO') sock.write('250 sink\r\n');
        else if (verb === 'MAIL') {
          from = line;
          to = [];
          sock.write('250 ok\r\n');
        } else if (verb === 'RCPT') {
          to.push(line);
          sock.write('250 ok\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          sock.write('354 go on\r\n');
        } else if (verb === 'QUIT') sock.end('221 bye\r\n');
        else if (verb === 'RSET' || verb === 'NOOP') sock.write('250 ok\r\n');
        else sock.write('502 no\r\n');
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as AddressInfo).port, messages };
}

export async function udpListener(t: TestContext): Promise<{ port: number; lines: string[] }> {
  const lines: string[] = [];
  const sock = dgram.createSocket('udp4');
  sock.on('message', (m) => lines.push(m.toString('utf8')));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => sock.close(() => r())));
  return { port: sock.address().port, lines };
}
