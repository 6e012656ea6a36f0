#!/bin/busybox sh
# First stage of the warren-vm guest (PID 1 in the initramfs): load the virtio modules the
# cloud kernel keeps out of its image, mount the root disk (/dev/vda, ext4) and hand over
# to /sbin/warren-init on it. Written by `cargo xtask vm image`.
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t devtmpfs devtmpfs /dev
for m in $($bb cat /modules/order); do
    $bb insmod /modules/$m || echo "warren-vm initramfs: insmod $m failed"
done
n=0
while [ ! -b /dev/vda ] && [ $n -lt 200 ]; do
    $bb usleep 50000
    n=$((n + 1))
done
if ! $bb mount -t ext4 /dev/vda /newroot; then
    echo "warren-vm initramfs: cannot mount the root disk /dev/vda"
    $bb poweroff -f
fi
$bb umount /proc
$bb mount --move /dev /newroot/dev
exec $bb switch_root /newroot /sbin/warren-init
