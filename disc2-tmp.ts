import { discoverDevices } from './plugins/device-plugin/sysfs.ts';
const root = process.argv[2];
const paths = { sysfsRoot: root, devRoot: '/nonexist', devVfioRoot: '/nonexist', procNetRoute: root + '/../route' };
discoverDevices(paths);
const t0 = performance.now();
for (let i = 0; i < 3; i++) discoverDevices(paths);
console.log(((performance.now() - t0) / 3).toFixed(1));
