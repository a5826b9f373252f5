#!/usr/bin/env node
// sriov-lab-cni: the bundled CNI plugin (types "sriov", "ehost-device", "host-device"). One process per call:
// keep the import graph to node: builtins and this folder.
import { readFileSync } from 'node:fs';
import { runPlugin } from './plugin.ts';

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch (e) {
    // no stdin at all (closed or a TTY that hung up) reads as an empty config
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN' || (e as NodeJS.ErrnoException).code === 'EOF') return '';
    throw e;
  }
}

const out = await runPlugin({ env: process.env, stdin: readStdin() });
process.stdout.write(out.stdout, () => process.exit(out.exitCode));
