// Which `ip` invocations the simulated node answers itself, decided the way iproute2 6.1's ip.c reads its
// command line (global options matched by prefix, objects and verbs matched by prefix, in ip.c's table order).
import { matches } from './vf-netlink.ts';

export interface IpGlobalOptions {
  json: boolean;
  pretty: boolean;
  details: boolean;
  oneline: boolean;
  brief: boolean;
  stats: number;
  /** -n/-netns, -batch, -color…: options that change where or how ip works; the wrapper then stays out of the way */
  passThrough: boolean;
}

export type IpInvocation =
  | { kind: 'vf-set'; options: IpGlobalOptions; globalArgs: string[]; setArgs: string[] }
  | { kind: 'link-show'; options: IpGlobalOptions }
  | { kind: 'addr-show'; options: IpGlobalOptions }
  | { kind: 'other' };

// ip.c checks these in this order; the first whose name starts with the option wins ("-b" is -batch, "-br" -brief).
const OPTIONS: ReadonlyArray<{ name: string; exact?: boolean; arg?: boolean; set?: (o: IpGlobalOptions) => void }> = [
  { name: '-loops', arg: true },
  { name: '-family', arg: true },
  { name: '-4', exact: true },
  { name: '-6', exact: true },
  { name: '-0', exact: true },
  { name: '-M', exact: true },
  { name: '-B', exact: true },
  { name: '-human' },
  { name: '-human-readable' },
  { name: '-iec' },
  { name: '-stats', set: (o) => void o.stats++ },
  { name: '-statistics', set: (o) => void o.stats++ },
  { name: '-details', set: (o) => void (o.details = true) },
  { name: '-resolve' },
  { name: '-oneline', set: (o) => void (o.oneline = true) },
  { name: '-timestamp' },
  { name: '-tshort' },
  { name: '-Version', set: (o) => void (o.passThrough = true) },
  { name: '-force' },
  { name: '-batch', arg: true, set: (o) => void (o.passThrough = true) },
  { name: '-brief', set: (o) => void (o.brief = true) },
  { name: '-json', set: (o) => void (o.json = true) },
  { name: '-pretty', set: (o) => void (o.pretty = true) },
  { name: '-rcvbuf', arg: true },
  { name: '-color', set: (o) => void (o.passThrough = true) },
  { name: '-help', set: (o) => void (o.passThrough = true) },
  { name: '-netns', arg: true, set: (o) => void (o.passThrough = true) },
  { name: '-Numeric' },
  { name: '-all', set: (o) => void (o.passThrough = true) },
  { name: '-echo' },
];

// ip.c's object table, in order, so "a" is address and "l" is link
const OBJECTS = ['address', 'addrlabel', 'maddress', 'route', 'rule', 'neighbor', 'neighbour', 'ntable', 'ntbl', 'link'];

export function classifyIpArgv(argv: readonly string[]): IpInvocation {
  const options: IpGlobalOptions = { json: false, pretty: false, details: false, oneline: false, brief: false, stats: 0, passThrough: false };
  const globalArgs: string[] = [];
  let i = 0;
  while (i < argv.length) {
    let opt = argv[i];
    if (opt === '--') return { kind: 'other' };
    if (!opt.startsWith('-')) break;
    if (opt[1] === '-') opt = opt.slice(1);
    // "-c", "-col", "-color=auto" …
    const color = /^-c(o(l(o(r)?)?)?)?(=.*)?$/.test(opt);
    const spec = color ? OPTIONS.find((o) => o.name === '-color') : OPTIONS.find((o) => (o.exact ? opt === o.name : matches(opt, o.name)));
    if (!spec) return { kind: 'other' };
    spec.set?.(options);
    globalArgs.push(argv[i]);
    if (spec.arg) {
      if (i + 1 >= argv.length) return { kind: 'other' };
      globalArgs.push(argv[i + 1]);
      i++;
    }
    i++;
  }
  if (options.passThrough || i >= argv.length) return { kind: 'other' };
  const object = OBJECTS.find((o) => matches(argv[i], o));
  const rest = argv.slice(i + 1);
  if (object === 'link') {
    if (rest.length === 0) return { kind: 'link-show', options };
    const verb = rest[0];
    if (matches(verb, 'add')) return { kind: 'other' };
    if (matches(verb, 'set') || matches(verb, 'change')) {
      return rest.includes('vf') ? { kind: 'vf-set', options, globalArgs, setArgs: rest.slice(1) } : { kind: 'other' };
    }
    if (matches(verb, 'replace') || matches(verb, 'delete')) return { kind: 'other' };
    if (matches(verb, 'show') || matches(verb, 'lst') || matches(verb, 'list')) return { kind: 'link-show', options };
    return { kind: 'other' };
  }
  if (object === 'address') {
    if (rest.length === 0) return { kind: 'addr-show', options };
    const verb = rest[0];
    if (matches(verb, 'add') || matches(verb, 'change') || verb === 'chg' || matches(verb, 'replace') || matches(verb, 'delete')) {
      return { kind: 'other' };
    }
    if (matches(verb, 'list') || matches(verb, 'show') || matches(verb, 'lst')) return { kind: 'addr-show', options };
    return { kind: 'other' };
  }
  return { kind: 'other' };
}
