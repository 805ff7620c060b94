// Reads IIS configuration XML (applicationHost.config, administration.config, or what
// `appcmd list site /config /xml` exports) into a plain element tree, in document order (IIS
// collections are ordered: <clear/>, <remove/> and <add/> apply one after the other).
// SECURITY: the files are untrusted input copied off another machine. A DOCTYPE (and with it
// every entity declaration, external entity and entity expansion) is refused before parsing:
// no XXE, no billion laughs. IIS never writes one.
import { readFileSync, statSync } from 'node:fs';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { LIMITS } from '../config/limits.ts';
import { PortcullisError } from '../errors/index.ts';

export interface XmlElement {
  name: string;
  attrs: Readonly<Record<string, string>>;
  children: XmlElement[];
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The five predefined entities and character references; nothing else is ever expanded. */
export function decodeXmlText(v: string): string {
  return v.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
    }
    return PREDEFINED[ref] ?? whole;
  });
}

type Ordered = Record<string, unknown>;

function convert(node: Ordered, depth: number): XmlElement | undefined {
  const name = Object.keys(node).find((k) => k !== ':@');
  if (!name || name === '#text' || name.startsWith('?') || name === '#comment') return undefined;
  if (depth > LIMITS.migrate.maxXmlDepth) throw new PortcullisError('ERR_MIGRATE_XML_REFUSED', `elements nested deeper than ${LIMITS.migrate.maxXmlDepth}`);
  const rawAttrs = (node[':@'] ?? {}) as Record<string, unknown>;
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawAttrs)) attrs[k] = decodeXmlText(String(v));
  const children: XmlElement[] = [];
  for (const c of (node[name] ?? []) as Ordered[]) {
    const e = convert(c, depth + 1);
    if (e) children.push(e);
  }
  return { name, attrs, children };
}

/** Parses XML text; `what` names the input in messages. */
export function parseIisXml(text: string, what: string): XmlElement {
  if (Buffer.byteLength(text) > LIMITS.migrate.maxConfigBytes) {
    throw new PortcullisError('ERR_MIGRATE_INPUT', `${what}: larger than ${LIMITS.migrate.maxConfigBytes} bytes`);
  }
  // SECURITY: refuse DTDs outright (entity declarations, external entities, parameter entities).
  if (/<!DOCTYPE|<!ENTITY|<!ELEMENT|<!ATTLIST/i.test(text)) {
    throw new PortcullisError('ERR_MIGRATE_XML_REFUSED', `${what}: contains a DOCTYPE or entity declaration, which IIS never writes (refused: XXE and entity expansion)`);
  }
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    throw new PortcullisError('ERR_MIGRATE_INPUT', `${what}: not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`);
  }
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    // SECURITY: no entity processing at all; the predefined ones are decoded by decodeXmlText.
    processEntities: false,
    htmlEntities: false,
    parseAttributeValue: false,
    parseTagValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    trimValues: true,
    // SECURITY: the nesting limit is also enforced while parsing (no deep recursion).
    maxNestedTags: LIMITS.migrate.maxXmlDepth,
  });
  let doc: Ordered[];
  try {
    doc = parser.parse(text) as Ordered[];
  } catch (cause) {
    throw new PortcullisError('ERR_MIGRATE_XML_REFUSED', `${what}: ${(cause as Error).message}`, { cause });
  }
  const roots = doc.map((n) => convert(n, 1)).filter((e): e is XmlElement => e !== undefined);
  if (roots.length !== 1) throw new PortcullisError('ERR_MIGRATE_INPUT', `${what}: expected one root element, found ${roots.length}`);
  return roots[0]!;
}

export function readIisXmlFile(file: string): XmlElement {
  let text: string;
  try {
    if (statSync(file).size > LIMITS.migrate.maxConfigBytes) throw new PortcullisError('ERR_MIGRATE_INPUT', `${file}: larger than ${LIMITS.migrate.maxConfigBytes} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if (cause instanceof PortcullisError) throw cause;
    throw new PortcullisError('ERR_MIGRATE_INPUT', `cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? 'unreadable'}`, { cause });
  }
  return parseIisXml(text.replace(/^\uFEFF/, ''), file);
}

/** The first child named `name` (IIS element names are case-sensitive). */
export function child(e: XmlElement | undefined, name: string): XmlElement | undefined {
  return e?.children.find((c) => c.name === name);
}

/** Follows a path of child names: path(e, 'security', 'ssl'). */
export function path(e: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  let cur = e;
  for (const n of names) cur = child(cur, n);
  return cur;
}

/** Every descendant named `name`, document order. */
export function findAll(e: XmlElement, name: string, out: XmlElement[] = []): XmlElement[] {
  for (const c of e.children) {
    if (c.name === name) out.push(c);
    findAll(c, name, out);
  }
  return out;
}
