#!/usr/bin/env node
// sriov-lab-cni: the bundled CNI plugin (types "sriov", "ehost-device", "host-device"). One process per call:
// keep the import graph to node: builtins and this folder.
import { runCni } from './run.ts';

runCni();
