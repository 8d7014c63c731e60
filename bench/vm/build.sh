#!/usr/bin/env bash
# Builds what bench/vm/run.sh boots: Debian 12's kernel and a small initramfs (busybox, the virtio
# and 9p modules) that mounts the host's root over 9p and hands over to the script named by
# `vidivo.init=` on the kernel command line. Everything comes from Debian's packages
# (apt-get download); nothing is installed on the host but qemu.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR="$ROOT/.cache/bench-vm"
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net 9pnet 9pnet_virtio netfs fscache 9p)

if ! command -v qemu-system-x86_64 >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
fi
kernel_pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kernel_pkg" ] || { echo 'bench VM: no linux-image-amd64 package (Debian only)' >&2; exit 2; }
stamp="$kernel_pkg ${MODULES[*]} $(sha1sum "$0" | cut -c1-12)"
[ -f "$DIR/stamp" ] && [ "$(cat "$DIR/stamp")" = "$stamp" ] && exit 0

rm -rf "$DIR" && mkdir -p "$DIR/debs" "$DIR/x"
cd "$DIR/debs"
apt-get download -qq "$kernel_pkg" busybox-static
for deb in *.deb; do dpkg-deb -x "$deb" "$DIR/x"; done

version=${kernel_pkg#linux-image-}
initrd="$DIR/x/initrd"
mkdir -p "$initrd"/{bin,mods,newroot,proc,sys,dev}
cp "$DIR/x/bin/busybox" "$initrd/bin/"
for m in "${MODULES[@]}"; do
  ko=$(find "$DIR/x/lib/modules/$version" -name "$m.ko" | head -1)
  [ -n "$ko" ] || { echo "bench VM: module $m.ko not in $kernel_pkg (compressed modules or another layout: Debian 12's kernel expected)" >&2; exit 2; }
  cp "$ko" "$initrd/mods/"
done
cat > "$initrd/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs dev /dev
for m in ${MODULES[*]}; do insmod /mods/\$m.ko || echo "insmod \$m failed"; done
script=
for arg in \$(cat /proc/cmdline); do case \$arg in vidivo.init=*) script=\${arg#vidivo.init=} ;; esac; done
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose root /newroot || { echo '9p root not mounted'; poweroff -f; }
[ -f "/newroot\$script" ] || { echo "no guest init script: '\$script'"; poweroff -f; }
umount /proc /sys /dev
exec switch_root /newroot /bin/sh "\$script"
INIT
chmod +x "$initrd/init"
(cd "$initrd" && find . | "$DIR/x/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 > "$DIR/initrd.gz.tmp")
cp "$DIR/x/boot/vmlinuz-$version" "$DIR/vmlinuz"
mv "$DIR/initrd.gz.tmp" "$DIR/initrd.gz"
rm -rf "$DIR/debs" "$DIR/x"
echo "$stamp" > "$DIR/stamp"
echo "bench VM: kernel $version and initramfs in $DIR" >&2
