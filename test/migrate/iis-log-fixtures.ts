// Realistic IIS FTP W3C logs written by the tests (no copied files): several sites and days, a
// #Fields change mid-file, masked passwords, anonymous sessions, 530 1326 failures, sessions with
// and without AUTH TLS, active mode and SITE commands.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const HEAD = ['#Software: Microsoft Internet Information Services 10.0', '#Version: 1.0'];
const F1 = 'date time c-ip cs-username s-ip s-port cs-method cs-uri-stem sc-status sc-win32-status sc-substatus x-session x-fullpath';
const F2 = 'date time c-ip cs-username s-ip s-port cs-method cs-uri-stem sc-status sc-win32-status sc-substatus x-session x-fullpath sc-bytes cs-bytes';

let sid = 0;
const session = (): string => `${(++sid).toString(16).padStart(8, '0')}-0c8e-4b0c-8a0b-3c1f2f2d9a11`;

type Step = [method: string, arg: string, status: string, win32?: string, user?: string, bytes?: [sc: number, cs: number]];

/** One control connection: opened, the steps, closed. */
export function sessionLines(day: string, time: string, ip: string, steps: Step[], withBytes = false, port = '21'): string[] {
  const x = session();
  const [h, m, s] = time.split(':').map(Number) as [number, number, number];
  let t = h * 3600 + m * 60 + s;
  const stamp = (): string => {
    const v = t++;
    return `${day} ${String(Math.floor(v / 3600)).padStart(2, '0')}:${String(Math.floor(v / 60) % 60).padStart(2, '0')}:${String(v % 60).padStart(2, '0')}`;
  };
  const line = (method: string, arg: string, status: string, win32 = '0', user = '-', bytes?: [number, number]): string =>
    `${stamp()} ${ip} ${user} 10.0.0.5 ${port} ${method} ${arg || '-'} ${status} ${win32} 0 ${x} ${method === 'RETR' || method === 'STOR' ? `/${arg}` : '-'}${withBytes ? ` ${bytes?.[0] ?? 0} ${bytes?.[1] ?? 0}` : ''}`;
  return [line('ControlChannelOpened', '', '-'), ...steps.map(([m, a, st, w, u, b]) => line(m, a, st, w, u, b)), line('ControlChannelClosed', '', '-')];
}

export const login = (user: string, domainUser: string, tls: boolean): Step[] => [
  ...(tls ? ([['AUTH', 'TLS', '234']] as Step[]) : []),
  ['USER', user, '331'],
  ['PASS', '***', '230', '0', domainUser],
];

/** Writes the fixture tree under `root`; returns what the analysis must find. */
export function writeIisLogs(root: string): void {
  const site2 = path.join(root, 'FTPSVC2');
  const site3 = path.join(root, 'FTPSVC3');
  mkdirSync(site2, { recursive: true });
  mkdirSync(site3, { recursive: true });
  const day1 = [
    ...HEAD,
    '#Date: 2023-12-29 00:00:00',
    `#Fields: ${F1}`,
    // anonymous browsing
    ...sessionLines('2023-12-29', '06:27:23', '10.211.55.53', [['USER', 'anonymous', '331'], ['PASS', '***', '230', '0', 'anonymous'], ['RETR', 'readme.txt', '226', '0', 'anonymous']]),
    // alice in clear, uploads, SITE CHMOD
    ...sessionLines('2023-12-29', '07:00:00', '203.0.113.5', [...login('alice', 'FILES01\\alice', false), ['STOR', 'orders.csv', '226', '0', 'FILES01\\alice'], ['SITE', 'CHMOD', '200', '0', 'FILES01\\alice']]),
    // bob over TLS, active mode
    ...sessionLines('2023-12-29', '07:30:00', '198.51.100.20', [...login('bob', 'FILES01\\bob', true), ['PORT', '198,51,100,20,200,10', '200', '0', 'FILES01\\bob'], ['RETR', 'report.pdf', '226', '0', 'FILES01\\bob']]),
    // a brute force: 12 failures in 4 sessions from one address
    ...[0, 1, 2, 3].flatMap((i) =>
      sessionLines('2023-12-29', `08:1${i}:00`, '192.0.2.66', [0, 1, 2].flatMap(() => [['USER', i % 2 ? 'admin' : 'administrator', '331'], ['PASS', '***', '530', '1326']] as Step[])),
    ),
    'this line is not a record',
    // the fields change mid-file: bytes appear
    `#Fields: ${F2}`,
    ...sessionLines('2023-12-29', '09:00:00', '198.51.100.21', [...login('bob', 'FILES01\\bob', true), ['RETR', 'big.iso', '226', '0', 'FILES01\\bob', [5_000_000, 0]], ['STOR', 'in.zip', '226', '0', 'FILES01\\bob', [0, 2_000_000]]], true),
    // a user who mistyped once, then logged in (not a ban)
    ...sessionLines('2023-12-29', '10:00:00', '203.0.113.77', [['USER', 'dave', '331'], ['PASS', '***', '530', '1326'], ['USER', 'dave', '331'], ['PASS', '***', '230', '0', 'FILES01\\dave']], true),
  ];
  writeFileSync(path.join(site2, 'u_ex231229.log'), day1.join('\r\n') + '\r\n');
  const day2 = [
    ...HEAD,
    `#Fields: ${F1}`,
    // alice again, now with TLS, same /24
    ...sessionLines('2023-12-30', '07:00:00', '203.0.113.9', [...login('alice', 'FILES01\\alice', true), ['RETR', 'prices.csv', '226', '0', 'FILES01\\alice']]),
    // <script> in a user name must stay text in the HTML report
    ...sessionLines('2023-12-30', '07:10:00', '198.51.100.99', [['USER', '<script>x</script>', '331'], ['PASS', '***', '530', '1326']]),
  ];
  writeFileSync(path.join(site2, 'u_ex231230.log'), day2.join('\n') + '\n');
  // another site: carol over implicit FTPS (port 990) from two networks
  const site3log = [
    ...HEAD,
    `#Fields: ${F1}`,
    ...sessionLines('2023-12-29', '11:00:00', '192.0.2.10', [['USER', 'carol', '331'], ['PASS', '***', '230', '0', 'carol']], false, '990'),
    ...sessionLines('2023-12-30', '11:00:00', '2001:db8:1:2::10', [['USER', 'carol', '331'], ['PASS', '***', '230', '0', 'carol']], false, '990'),
  ];
  writeFileSync(path.join(site3, 'u_ex231229.log'), site3log.join('\r\n') + '\r\n');
}
