#!/usr/bin/env bash
# Builds what bench/vm/run.sh boots: a Debian kernel and a small initramfs (busybox, the virtio and
# 9p modules) that mounts the host's root over 9p and runs bench/vm/guest-init.sh. Everything comes
# from Debian's packages (apt-get download); nothing is installed on the host but qemu.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR="$ROOT/.cache/bench-vm"
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net 9pnet 9pnet_virtio netfs fscache 9p)

if ! command -v qemu-system-x86_64 >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
fi
[ -f "$DIR/initrd.gz" ] && [ -f "$DIR/vmlinuz" ] && exit 0

rm -rf "$DIR/debs" "$DIR/x" && mkdir -p "$DIR/debs" "$DIR/x"
cd "$DIR/debs"
kernel_pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
apt-get download -qq "$kernel_pkg" busybox-static 2>/dev/null
for deb in *.deb; do dpkg-deb -x "$deb" "$DIR/x"; done

version=${kernel_pkg#linux-image-}
cp "$DIR/x/boot/vmlinuz-$version" "$DIR/vmlinuz"
initrd="$DIR/x/initrd"
mkdir -p "$initrd"/{bin,mods,newroot,proc,sys,dev}
cp "$DIR/x/bin/busybox" "$initrd/bin/"
for m in "${MODULES[@]}"; do cp "$(find "$DIR/x/lib/modules/$version" -name "$m.ko")" "$initrd/mods/"; done
cat > "$initrd/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs dev /dev
for m in ${MODULES[*]}; do insmod /mods/\$m.ko || echo "insmod \$m failed"; done
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose root /newroot || { echo '9p root not mounted'; poweroff -f; }
umount /proc /sys /dev
exec switch_root /newroot /bin/sh $ROOT/bench/vm/guest-init.sh
INIT
chmod +x "$initrd/init"
(cd "$initrd" && find . | "$DIR/x/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 > "$DIR/initrd.gz")
rm -rf "$DIR/debs" "$DIR/x"
echo "bench VM: kernel $version and initramfs in $DIR" >&2
