// The controls auditors ask about, per check: PCI DSS v4.0.1 requirements, NIST SP 800-53 rev. 5
// controls and CIS Controls v8 safeguards. Numbers checked against the published texts
// (PCI DSS v4.0.1 June 2024; NIST SP 800-53 Rev. 5 update 1; CIS Critical Security Controls v8,
// May 2021); a unit test checks every check has a row and every number is one of the names below.

export interface ControlRefs {
  pci: string[];
  nist: string[];
  cis: string[];
}

/** What each cited control number is called (shown in reports beside the number). */
export const CONTROL_NAMES: { pci: Record<string, string>; nist: Record<string, string>; cis: Record<string, string> } = {
  pci: {
    '1.4.5': 'Disclosure of internal IP addresses and routing information is limited',
    '1.4.2': 'Inbound traffic from untrusted networks is restricted',
    '2.2.2': 'Vendor default accounts are managed',
    '2.2.4': 'Only necessary services, protocols, daemons and functions are enabled',
    '2.2.5': 'Insecure services, protocols or daemons are justified and mitigated',
    '2.2.6': 'System security parameters are configured to prevent misuse',
    '2.2.7': 'Non-console administrative access is encrypted using strong cryptography',
    '4.2.1': 'Strong cryptography and security protocols safeguard data in transmission',
    '6.3.1': 'Security vulnerabilities are identified and managed',
    '6.3.3': 'Known vulnerabilities are fixed by installing security patches',
    '7.2.1': 'An access control model is defined',
    '7.2.2': 'Access is assigned on least privileges',
    '8.2.1': 'Every user is assigned a unique ID before access',
    '8.3.1': 'User access is authenticated with at least one factor',
    '8.3.2': 'Authentication factors are unreadable in transmission and storage',
    '8.3.4': 'Invalid authentication attempts are limited (lockout after at most 10)',
    '8.4.2': 'MFA for all non-console access into the CDE',
    '8.4.3': 'MFA for remote network access from outside the entity',
    '11.3.1': 'Internal vulnerability scans are performed',
  },
  nist: {
    'AC-3': 'Access Enforcement',
    'AC-6': 'Least Privilege',
    'AC-7': 'Unsuccessful Logon Attempts',
    'AC-14': 'Permitted Actions Without Identification or Authentication',
    'AC-17(2)': 'Remote Access: Protection of Confidentiality and Integrity Using Encryption',
    'CM-6': 'Configuration Settings',
    'CM-7': 'Least Functionality',
    'IA-2(1)': 'Multi-factor Authentication to Privileged Accounts',
    'IA-2(2)': 'Multi-factor Authentication to Non-privileged Accounts',
    'IA-5': 'Authenticator Management',
    'RA-5': 'Vulnerability Monitoring and Scanning',
    'SC-5': 'Denial-of-service Protection',
    'SC-7': 'Boundary Protection',
    'SC-8(1)': 'Transmission Confidentiality and Integrity: Cryptographic Protection',
    'SC-12': 'Cryptographic Key Establishment and Management',
    'SC-13': 'Cryptographic Protection',
    'SC-17': 'Public Key Infrastructure Certificates',
    'SC-23': 'Session Authenticity',
    'SI-2': 'Flaw Remediation',
    'SI-7': 'Software, Firmware, and Information Integrity',
    'SI-11': 'Error Handling',
  },
  cis: {
    '2.2': 'Ensure Authorized Software is Currently Supported',
    '3.3': 'Configure Data Access Control Lists',
    '3.10': 'Encrypt Sensitive Data in Transit',
    '4.1': 'Establish and Maintain a Secure Configuration Process',
    '4.4': 'Implement and Manage a Firewall on Servers',
    '4.7': 'Manage Default Accounts on Enterprise Assets and Software',
    '4.8': 'Uninstall or Disable Unnecessary Services on Enterprise Assets and Software',
    '5.2': 'Use Unique Passwords',
    '6.3': 'Require MFA for Externally-Exposed Applications',
    '6.4': 'Require MFA for Remote Network Access',
    '7.4': 'Perform Automated Application Patch Management',
    '7.7': 'Remediate Detected Vulnerabilities',
    '12.2': 'Establish and Maintain a Secure Network Architecture',
  },
};

const TLS_CRYPTO: ControlRefs = { pci: ['4.2.1', '2.2.7'], nist: ['SC-8(1)', 'SC-13'], cis: ['3.10'] };
const CERT: ControlRefs = { pci: ['4.2.1'], nist: ['SC-17', 'SC-8(1)'], cis: ['3.10'] };
const SSH_CRYPTO: ControlRefs = { pci: ['4.2.1', '2.2.7'], nist: ['SC-8(1)', 'SC-13', 'AC-17(2)'], cis: ['3.10'] };
const PATCH: ControlRefs = { pci: ['6.3.3', '6.3.1'], nist: ['SI-2', 'RA-5'], cis: ['7.4', '7.7'] };
const BACKDOOR: ControlRefs = { pci: ['6.3.3'], nist: ['SI-7', 'SI-2'], cis: ['7.7'] };
const CLEARTEXT: ControlRefs = { pci: ['2.2.5', '4.2.1', '8.3.2'], nist: ['SC-8(1)', 'CM-7'], cis: ['3.10', '4.8'] };
const ANON: ControlRefs = { pci: ['8.2.1', '7.2.2'], nist: ['AC-14', 'AC-3'], cis: ['3.3', '4.8'] };
const DISCLOSURE: ControlRefs = { pci: ['2.2.6'], nist: ['SI-11', 'CM-7'], cis: ['4.1'] };

export const CONTROLS: Record<string, ControlRefs> = {
  'ftp.cleartext-only': CLEARTEXT,
  'ftp.tls-optional-login': { pci: ['8.3.2', '4.2.1', '2.2.5'], nist: ['SC-8(1)', 'IA-5'], cis: ['3.10'] },
  'ftp.tls-optional-data': { pci: ['4.2.1', '2.2.5'], nist: ['SC-8(1)'], cis: ['3.10'] },
  'ftp.ccc-allowed': { pci: ['4.2.1'], nist: ['SC-8(1)'], cis: ['3.10'] },
  'ftp.anonymous-login': ANON,
  'ftp.anonymous-read': { pci: ['7.2.2', '8.2.1'], nist: ['AC-14', 'AC-3', 'AC-6'], cis: ['3.3'] },
  'ftp.anonymous-write': { pci: ['7.2.2', '8.2.1'], nist: ['AC-14', 'AC-3', 'AC-6'], cis: ['3.3'] },
  'ftp.bounce': { pci: ['2.2.6', '1.4.2'], nist: ['SC-7', 'CM-7'], cis: ['4.1', '12.2'] },
  'ftp.pasv-address-leak': { pci: ['1.4.5'], nist: ['SC-7'], cis: ['12.2'] },
  'ftp.syst-disclosure': DISCLOSURE,
  'ftp.user-enumeration': { pci: ['2.2.6'], nist: ['SI-11', 'AC-7'], cis: ['4.1'] },
  'ftp.iis-exposed': { pci: ['2.2.4', '2.2.5'], nist: ['CM-7', 'SC-7'], cis: ['4.8', '2.2'] },
  'ftp.iis-known-cves': { pci: ['6.3.3', '6.3.1'], nist: ['SI-2', 'RA-5'], cis: ['7.7', '2.2'] },
  'ftp.vsftpd-backdoor': BACKDOOR,
  'ftp.proftpd-backdoor': BACKDOOR,
  'ftp.proftpd-modcopy-unauth': PATCH,
  'ftp.proftpd-telnet-iac': PATCH,
  'ftp.libopie': PATCH,
  'tls.legacy-protocol': TLS_CRYPTO,
  'tls.weak-cipher': TLS_CRYPTO,
  'tls.anon-cipher': { pci: ['4.2.1'], nist: ['SC-8(1)', 'SC-23'], cis: ['3.10'] },
  'tls.no-forward-secrecy': { pci: ['4.2.1'], nist: ['SC-8(1)', 'SC-12'], cis: ['3.10'] },
  'tls.weak-dh': { pci: ['4.2.1'], nist: ['SC-12', 'SC-13'], cis: ['3.10'] },
  'tls.cert-expired': CERT,
  'tls.cert-untrusted': CERT,
  'tls.cert-hostname-mismatch': CERT,
  'tls.cert-weak-key': { pci: ['4.2.1'], nist: ['SC-17', 'SC-12'], cis: ['3.10'] },
  'tls.cert-weak-signature': { pci: ['4.2.1'], nist: ['SC-17', 'SC-13'], cis: ['3.10'] },
  'tls.known-vulns': { pci: ['6.3.3', '4.2.1'], nist: ['SI-2', 'SC-8(1)'], cis: ['7.4', '7.7'] },
  'tls.client-renegotiation': { pci: ['2.2.6'], nist: ['SC-5'], cis: ['4.1'] },
  'tls.alpaca': { pci: ['2.2.6', '6.3.3'], nist: ['SC-23', 'SI-2'], cis: ['4.1'] },
  'ssh.protocol-v1': { pci: ['4.2.1', '2.2.5'], nist: ['SC-8(1)', 'SC-13'], cis: ['3.10', '4.8'] },
  'ssh.weak-kex': SSH_CRYPTO,
  'ssh.weak-cipher': SSH_CRYPTO,
  'ssh.weak-mac': SSH_CRYPTO,
  'ssh.weak-hostkey-algorithm': { pci: ['4.2.1'], nist: ['SC-13', 'SC-23'], cis: ['3.10'] },
  'ssh.small-hostkey': { pci: ['4.2.1'], nist: ['SC-12', 'SC-13'], cis: ['3.10'] },
  'ssh.password-auth': { pci: ['8.4.2', '8.4.3'], nist: ['IA-2(1)', 'IA-2(2)'], cis: ['6.3', '6.4'] },
  'ssh.terrapin': { pci: ['6.3.3', '4.2.1'], nist: ['SI-2', 'SC-8(1)'], cis: ['7.4'] },
  'svc.version-disclosure': DISCLOSURE,
  'svc.vulnerable-version': PATCH,
  'auth.default-credentials': { pci: ['2.2.2', '8.3.1'], nist: ['IA-5'], cis: ['4.7', '5.2'] },
  'auth.no-bruteforce-protection': { pci: ['8.3.4'], nist: ['AC-7'], cis: ['4.1'] },
  'svc.exposed-service': { pci: ['2.2.4', '1.4.2'], nist: ['CM-7', 'SC-7'], cis: ['4.4', '4.8'] },
};

/** "PCI DSS 4.0.1 8.3.4; NIST 800-53 AC-7; CIS v8 4.1": one line for text reports and SARIF. */
export function formatControls(c: ControlRefs): string {
  return [`PCI DSS 4.0.1 ${c.pci.join(', ')}`, `NIST 800-53 ${c.nist.join(', ')}`, `CIS v8 ${c.cis.join(', ')}`].join('; ');
}
