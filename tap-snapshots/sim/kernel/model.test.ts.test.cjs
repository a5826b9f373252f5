/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`sim/kernel/model.test.ts > TAP > the whole tree of a small node, entry by entry (golden) > i350 with 2 VFs (VF 1 on vfio-pci) and a virtio-net NIC 1`] = `
dir 0755 /dev
dir 0755 /dev/vfio
file 0600 /dev/vfio/4 ""
file 0666 /dev/vfio/vfio ""
dir 0755 /sys
dir 0755 /sys/bus
dir 0755 /sys/bus/pci
dir 0755 /sys/bus/pci/devices
link 0777 /sys/bus/pci/devices/0000:00:05.0 -> ../../../devices/pci0000:00/0000:00:05.0
link 0777 /sys/bus/pci/devices/0000:00:1c.0 -> ../../../devices/pci0000:00/0000:00:1c.0
link 0777 /sys/bus/pci/devices/0000:01:00.0 -> ../../../devices/pci0000:00/0000:00:1c.0/0000:01:00.0
link 0777 /sys/bus/pci/devices/0000:01:10.0 -> ../../../devices/pci0000:00/0000:00:1c.0/0000:01:10.0
link 0777 /sys/bus/pci/devices/0000:01:10.4 -> ../../../devices/pci0000:00/0000:00:1c.0/0000:01:10.4
dir 0755 /sys/bus/pci/drivers
dir 0755 /sys/bus/pci/drivers/i40e
file 0200 /sys/bus/pci/drivers/i40e/bind
file 0200 /sys/bus/pci/drivers/i40e/new_id
file 0200 /sys/bus/pci/drivers/i40e/remove_id
file 0200 /sys/bus/pci/drivers/i40e/unbind
dir 0755 /sys/bus/pci/drivers/iavf
file 0200 /sys/bus/pci/drivers/iavf/bind
file 0200 /sys/bus/pci/drivers/iavf/new_id
file 0200 /sys/bus/pci/drivers/iavf/remove_id
file 0200 /sys/bus/pci/drivers/iavf/unbind
dir 0755 /sys/bus/pci/drivers/ice
file 0200 /sys/bus/pci/drivers/ice/bind
file 0200 /sys/bus/pci/drivers/ice/new_id
file 0200 /sys/bus/pci/drivers/ice/remove_id
file 0200 /sys/bus/pci/drivers/ice/unbind
dir 0755 /sys/bus/pci/drivers/igb
link 0777 /sys/bus/pci/drivers/igb/0000:01:00.0 -> ../../../../devices/pci0000:00/0000:00:1c.0/0000:01:00.0
file 0200 /sys/bus/pci/drivers/igb/bind
file 0200 /sys/bus/pci/drivers/igb/new_id
file 0200 /sys/bus/pci/drivers/igb/remove_id
file 0200 /sys/bus/pci/drivers/igb/unbind
dir 0755 /sys/bus/pci/drivers/igb_uio
file 0200 /sys/bus/pci/drivers/igb_uio/bind
file 0200 /sys/bus/pci/drivers/igb_uio/new_id
file 0200 /sys/bus/pci/drivers/igb_uio/remove_id
file 0200 /sys/bus/pci/drivers/igb_uio/unbind
dir 0755 /sys/bus/pci/drivers/igbvf
link 0777 /sys/bus/pci/drivers/igbvf/0000:01:10.0 -> ../../../../devices/pci0000:00/0000:00:1c.0/0000:01:10.0
file 0200 /sys/bus/pci/drivers/igbvf/bind
file 0200 /sys/bus/pci/drivers/igbvf/new_id
file 0200 /sys/bus/pci/drivers/igbvf/remove_id
file 0200 /sys/bus/pci/drivers/igbvf/unbind
dir 0755 /sys/bus/pci/drivers/ixgbe
file 0200 /sys/bus/pci/drivers/ixgbe/bind
file 0200 /sys/bus/pci/drivers/ixgbe/new_id
file 0200 /sys/bus/pci/drivers/ixgbe/remove_id
file 0200 /sys/bus/pci/drivers/ixgbe/unbind
dir 0755 /sys/bus/pci/drivers/ixgbevf
file 0200 /sys/bus/pci/drivers/ixgbevf/bind
file 0200 /sys/bus/pci/drivers/ixgbevf/new_id
file 0200 /sys/bus/pci/drivers/ixgbevf/remove_id
file 0200 /sys/bus/pci/drivers/ixgbevf/unbind
dir 0755 /sys/bus/pci/drivers/mlx5_core
file 0200 /sys/bus/pci/drivers/mlx5_core/bind
file 0200 /sys/bus/pci/drivers/mlx5_core/new_id
file 0200 /sys/bus/pci/drivers/mlx5_core/remove_id
file 0200 /sys/bus/pci/drivers/mlx5_core/unbind
dir 0755 /sys/bus/pci/drivers/pcieport
link 0777 /sys/bus/pci/drivers/pcieport/0000:00:1c.0 -> ../../../../devices/pci0000:00/0000:00:1c.0
file 0200 /sys/bus/pci/drivers/pcieport/bind
file 0200 /sys/bus/pci/drivers/pcieport/new_id
file 0200 /sys/bus/pci/drivers/pcieport/remove_id
file 0200 /sys/bus/pci/drivers/pcieport/unbind
dir 0755 /sys/bus/pci/drivers/uio_pci_generic
file 0200 /sys/bus/pci/drivers/uio_pci_generic/bind
file 0200 /sys/bus/pci/drivers/uio_pci_generic/new_id
file 0200 /sys/bus/pci/drivers/uio_pci_generic/remove_id
file 0200 /sys/bus/pci/drivers/uio_pci_generic/unbind
dir 0755 /sys/bus/pci/drivers/vfio-pci
link 0777 /sys/bus/pci/drivers/vfio-pci/0000:01:10.4 -> ../../../../devices/pci0000:00/0000:00:1c.0/0000:01:10.4
file 0200 /sys/bus/pci/drivers/vfio-pci/bind
file 0200 /sys/bus/pci/drivers/vfio-pci/new_id
file 0200 /sys/bus/pci/drivers/vfio-pci/remove_id
file 0200 /sys/bus/pci/drivers/vfio-pci/unbind
dir 0755 /sys/bus/pci/drivers/virtio-pci
link 0777 /sys/bus/pci/drivers/virtio-pci/0000:00:05.0 -> ../../../../devices/pci0000:00/0000:00:05.0
file 0200 /sys/bus/pci/drivers/virtio-pci/bind
file 0200 /sys/bus/pci/drivers/virtio-pci/new_id
file 0200 /sys/bus/pci/drivers/virtio-pci/remove_id
file 0200 /sys/bus/pci/drivers/virtio-pci/unbind
file 0644 /sys/bus/pci/drivers_autoprobe "1\\n"
file 0200 /sys/bus/pci/drivers_probe
file 0200 /sys/bus/pci/rescan
dir 0755 /sys/bus/virtio
dir 0755 /sys/bus/virtio/drivers
dir 0755 /sys/bus/virtio/drivers/virtio_net
dir 0755 /sys/class
dir 0755 /sys/class/net
link 0777 /sys/class/net/ens1f0 -> ../../devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/ens1f0
link 0777 /sys/class/net/ens1f0v0 -> ../../devices/pci0000:00/0000:00:1c.0/0000:01:10.0/net/ens1f0v0
link 0777 /sys/class/net/eth1 -> ../../devices/pci0000:00/0000:00:05.0/virtio0/net/eth1
dir 0755 /sys/devices
dir 0755 /sys/devices/pci0000:00
dir 0755 /sys/devices/pci0000:00/0000:00:05.0
file 0444 /sys/devices/pci0000:00/0000:00:05.0/class "0x020000\\n"
file 0444 /sys/devices/pci0000:00/0000:00:05.0/device "0x1000\\n"
link 0777 /sys/devices/pci0000:00/0000:00:05.0/driver -> ../../../bus/pci/drivers/virtio-pci
file 0644 /sys/devices/pci0000:00/0000:00:05.0/driver_override "(null)\\n"
link 0777 /sys/devices/pci0000:00/0000:00:05.0/iommu_group -> ../../../kernel/iommu_groups/5
file 0444 /sys/devices/pci0000:00/0000:00:05.0/modalias "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00\\n"
file 0444 /sys/devices/pci0000:00/0000:00:05.0/numa_node "-1\\n"
file 0200 /sys/devices/pci0000:00/0000:00:05.0/remove
link 0777 /sys/devices/pci0000:00/0000:00:05.0/subsystem -> ../../../bus/pci
file 0444 /sys/devices/pci0000:00/0000:00:05.0/subsystem_device "0x0001\\n"
file 0444 /sys/devices/pci0000:00/0000:00:05.0/subsystem_vendor "0x1af4\\n"
file 0444 /sys/devices/pci0000:00/0000:00:05.0/uevent "DRIVER=virtio-pci\\nPCI_CLASS=20000\\nPCI_ID=1AF4:1000\\nPCI_SUBSYS_ID=1AF4:0001\\nPCI_SLOT_NAME=0000:00:05.0\\nMODALIAS=pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00\\n"
file 0444 /sys/devices/pci0000:00/0000:00:05.0/vendor "0x1af4\\n"
dir 0755 /sys/devices/pci0000:00/0000:00:05.0/virtio0
file 0444 /sys/devices/pci0000:00/0000:00:05.0/virtio0/device "0x0001\\n"
link 0777 /sys/devices/pci0000:00/0000:00:05.0/virtio0/driver -> ../../../../bus/virtio/drivers/virtio_net
dir 0755 /sys/devices/pci0000:00/0000:00:05.0/virtio0/net
dir 0755 /sys/devices/pci0000:00/0000:00:05.0/virtio0/net/eth1
file 0444 /sys/devices/pci0000:00/0000:00:05.0/virtio0/net/eth1/address "52:54:00:30:0a:6d\\n"
file 0444 /sys/devices/pci0000:00/0000:00:05.0/virtio0/net/eth1/broadcast "ff:ff:ff:ff:ff:ff\\n"
file 0444 /sys/devices/pci0000:00/0000:00:05.0/virtio0/net/eth1/carrier
link 0777 /sys/devices/pci0000:00/0000:00:05.0/virtio0/net/eth1/device -> ../../../virtio0
file 0444 /sys/devices/pci0000:00/0000:00:05.0/virtio0/net/eth1/ifindex "5\\n"
file 0444 /sys/devices/pci0000:00/0000:00:05.0/virtio0/net/eth1/mtu "1500\\n"
file 0444 /sys/devices/pci0000:00/0000:00:05.0/virtio0/net/eth1/operstate "down\\n"
file 0444 /sys/devices/pci0000:00/0000:00:05.0/virtio0/net/eth1/phys_port_name
file 0444 /sys/devices/pci0000:00/0000:00:05.0/virtio0/net/eth1/type "1\\n"
file 0444 /sys/devices/pci0000:00/0000:00:05.0/virtio0/vendor "0x1af4\\n"
dir 0755 /sys/devices/pci0000:00/0000:00:1c.0
dir 0755 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/class "0x020000\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/device "0x1521\\n"
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/driver -> ../../../../bus/pci/drivers/igb
file 0644 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/driver_override "(null)\\n"
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/iommu_group -> ../../../../kernel/iommu_groups/2
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/modalias "pci:v00008086d00001521sv00008086sd00000001bc02sc00i00\\n"
dir 0755 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net
dir 0755 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/ens1f0
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/ens1f0/address "00:1b:21:fb:f7:47\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/ens1f0/broadcast "ff:ff:ff:ff:ff:ff\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/ens1f0/carrier
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/ens1f0/device -> ../../../0000:01:00.0
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/ens1f0/ifindex "2\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/ens1f0/mtu "1500\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/ens1f0/operstate "down\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/ens1f0/phys_port_name
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/ens1f0/type "1\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/numa_node "-1\\n"
file 0200 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/remove
file 0644 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/sriov_drivers_autoprobe "1\\n"
file 0664 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/sriov_numvfs "2\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/sriov_offset "128\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/sriov_stride "4\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/sriov_totalvfs "7\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/sriov_vf_device "1520\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/sriov_vf_total_msix "0\\n"
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/subsystem -> ../../../../bus/pci
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/subsystem_device "0x0001\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/subsystem_vendor "0x8086\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/uevent "DRIVER=igb\\nPCI_CLASS=20000\\nPCI_ID=8086:1521\\nPCI_SUBSYS_ID=8086:0001\\nPCI_SLOT_NAME=0000:01:00.0\\nMODALIAS=pci:v00008086d00001521sv00008086sd00000001bc02sc00i00\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/vendor "0x8086\\n"
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/virtfn0 -> ../0000:01:10.0
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/virtfn1 -> ../0000:01:10.4
dir 0755 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/class "0x020000\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/device "0x1520\\n"
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/driver -> ../../../../bus/pci/drivers/igbvf
file 0644 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/driver_override "(null)\\n"
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/iommu_group -> ../../../../kernel/iommu_groups/3
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/modalias "pci:v00008086d00001520sv00008086sd00000001bc02sc00i00\\n"
dir 0755 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/net
dir 0755 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/net/ens1f0v0
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/net/ens1f0v0/address "9e:b8:6d:fe:74:7d\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/net/ens1f0v0/broadcast "ff:ff:ff:ff:ff:ff\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/net/ens1f0v0/carrier
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/net/ens1f0v0/device -> ../../../0000:01:10.0
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/net/ens1f0v0/ifindex "3\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/net/ens1f0v0/mtu "1500\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/net/ens1f0v0/operstate "down\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/net/ens1f0v0/phys_port_name
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/net/ens1f0v0/type "1\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/numa_node "-1\\n"
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/physfn -> ../0000:01:00.0
file 0200 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/remove
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/subsystem -> ../../../../bus/pci
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/subsystem_device "0x0001\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/subsystem_vendor "0x8086\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/uevent "DRIVER=igbvf\\nPCI_CLASS=20000\\nPCI_ID=8086:1520\\nPCI_SUBSYS_ID=8086:0001\\nPCI_SLOT_NAME=0000:01:10.0\\nMODALIAS=pci:v00008086d00001520sv00008086sd00000001bc02sc00i00\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.0/vendor "0x8086\\n"
dir 0755 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/class "0x020000\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/device "0x1520\\n"
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/driver -> ../../../../bus/pci/drivers/vfio-pci
file 0644 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/driver_override "vfio-pci\\n"
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/iommu_group -> ../../../../kernel/iommu_groups/4
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/modalias "pci:v00008086d00001520sv00008086sd00000001bc02sc00i00\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/numa_node "-1\\n"
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/physfn -> ../0000:01:00.0
file 0200 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/remove
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/subsystem -> ../../../../bus/pci
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/subsystem_device "0x0001\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/subsystem_vendor "0x8086\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/uevent "DRIVER=vfio-pci\\nPCI_CLASS=20000\\nPCI_ID=8086:1520\\nPCI_SUBSYS_ID=8086:0001\\nPCI_SLOT_NAME=0000:01:10.4\\nMODALIAS=pci:v00008086d00001520sv00008086sd00000001bc02sc00i00\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/0000:01:10.4/vendor "0x8086\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/class "0x060400\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/device "0x7ab8\\n"
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/driver -> ../../../bus/pci/drivers/pcieport
file 0644 /sys/devices/pci0000:00/0000:00:1c.0/driver_override "(null)\\n"
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/iommu_group -> ../../../kernel/iommu_groups/1
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/modalias "pci:v00008086d00007AB8sv00008086sd00007270bc06sc04i00\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/numa_node "-1\\n"
file 0200 /sys/devices/pci0000:00/0000:00:1c.0/remove
link 0777 /sys/devices/pci0000:00/0000:00:1c.0/subsystem -> ../../../bus/pci
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/subsystem_device "0x7270\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/subsystem_vendor "0x8086\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/uevent "DRIVER=pcieport\\nPCI_CLASS=60400\\nPCI_ID=8086:7AB8\\nPCI_SUBSYS_ID=8086:7270\\nPCI_SLOT_NAME=0000:00:1c.0\\nMODALIAS=pci:v00008086d00007AB8sv00008086sd00007270bc06sc04i00\\n"
file 0444 /sys/devices/pci0000:00/0000:00:1c.0/vendor "0x8086\\n"
dir 0755 /sys/kernel
dir 0755 /sys/kernel/iommu_groups
dir 0755 /sys/kernel/iommu_groups/1
dir 0755 /sys/kernel/iommu_groups/1/devices
link 0777 /sys/kernel/iommu_groups/1/devices/0000:00:1c.0 -> ../../../../devices/pci0000:00/0000:00:1c.0
file 0444 /sys/kernel/iommu_groups/1/type "DMA\\n"
dir 0755 /sys/kernel/iommu_groups/2
dir 0755 /sys/kernel/iommu_groups/2/devices
link 0777 /sys/kernel/iommu_groups/2/devices/0000:01:00.0 -> ../../../../devices/pci0000:00/0000:00:1c.0/0000:01:00.0
file 0444 /sys/kernel/iommu_groups/2/type "DMA\\n"
dir 0755 /sys/kernel/iommu_groups/3
dir 0755 /sys/kernel/iommu_groups/3/devices
link 0777 /sys/kernel/iommu_groups/3/devices/0000:01:10.0 -> ../../../../devices/pci0000:00/0000:00:1c.0/0000:01:10.0
file 0444 /sys/kernel/iommu_groups/3/type "DMA\\n"
dir 0755 /sys/kernel/iommu_groups/4
dir 0755 /sys/kernel/iommu_groups/4/devices
link 0777 /sys/kernel/iommu_groups/4/devices/0000:01:10.4 -> ../../../../devices/pci0000:00/0000:00:1c.0/0000:01:10.4
file 0444 /sys/kernel/iommu_groups/4/type "DMA\\n"
dir 0755 /sys/kernel/iommu_groups/5
dir 0755 /sys/kernel/iommu_groups/5/devices
link 0777 /sys/kernel/iommu_groups/5/devices/0000:00:05.0 -> ../../../../devices/pci0000:00/0000:00:05.0
file 0444 /sys/kernel/iommu_groups/5/type "DMA\\n"
`
