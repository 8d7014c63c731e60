#!/bin/sh
# PID 1 inside the bench VM (after the initramfs): the host's root is mounted read-only; /tmp and /run are the guest's own;
# the host's output folder (9p tag "out") is at /mnt. Runs /mnt/job.sh, then powers off.
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o size=4g tmpfs /tmp; mount -t tmpfs tmpfs /run
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /mnt
ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/tmp
# The reason for the VM: here the open-file limit is the guest's to set.
ulimit -n 200000
/bin/bash /mnt/job.sh
poweroff -f
