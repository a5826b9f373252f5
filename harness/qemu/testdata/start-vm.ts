// Test helper: starts a VM in its run dir (argv[2]) with name argv[3] and waits forever, so a test can Ctrl-C or
// kill this process and check that QEMU went with it.
import { startVm } from '../vm.ts';

const [runDir, name] = process.argv.slice(2);
const vm = await startVm({ name, runDir, nics: [{ kind: 'igb', mac: '02:00:00:00:00:01' }], onProgress: (l) => process.stderr.write(`${l}\n`) });
process.stdout.write(`booted ${vm.pid}\n`);
setInterval(() => undefined, 1 << 30);
