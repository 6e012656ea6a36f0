#!/bin/sh
# PID 1 of the warren-vm guest (no systemd): a cgroup-v2-only system like a production host's.
# Mounts what containerd, runc and the tests need, checks that only cgroup2 is mounted, enables
# the controllers at the root, then runs /job/run.sh from the job disk (/dev/vdb) in a leaf
# cgroup of its own, writes its exit code to /job/rc and powers off.
# Written by `cargo xtask vm image`; the host reads the console and /job/rc.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
say() { echo "warren-vm: $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
job_mounted=no

finish() {
    say "exit code $1 after $(up) s of guest uptime"
    if [ $job_mounted = yes ]; then
        echo "$1" > /job/rc
        sync
        # Whatever the tests left running (daemons, shims) may hold files on /job.
        kill -9 -1 2>/dev/null
        sleep 1
        umount /job || sync
    fi
    busybox poweroff -f
}
fatal() {
    say "FATAL: $*"
    finish 90
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
# As systemd mounts it on a unified host.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup
hostname warren-vm
ip link set lo up

mkdir -p /job
if mount -t ext4 /dev/vdb /job; then
    job_mounted=yes
else
    fatal "no job disk at /dev/vdb"
fi

say "kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) MiB"
say "cmdline: $(cat /proc/cmdline)"
v1=$(awk '$3 == "cgroup" {print $2}' /proc/mounts)
[ -z "$v1" ] || fatal "cgroup v1 hierarchies are mounted: $v1"
fstype=$(awk '$2 == "/sys/fs/cgroup" {print $3}' /proc/mounts)
[ "$fstype" = cgroup2 ] || fatal "/sys/fs/cgroup is '$fstype', not cgroup2"
awk '$3 ~ /^cgroup/ {print "warren-vm: mount: " $0}' /proc/mounts
say "cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control || say "cannot enable controller $c"
done
enabled=$(cat /sys/fs/cgroup/cgroup.subtree_control)
say "cgroup.subtree_control: $enabled"
for c in cpu memory pids cpuset io; do
    case " $enabled " in
    *" $c "*) ;;
    *) fatal "controller $c is not enabled at the root" ;;
    esac
done

# Loaded up front (the rest loads on demand through /sbin/modprobe): overlayfs for the
# snapshotter, bridge + veth + netfilter for the CNI bridge and portmap plugins.
modprobe -a overlay bridge br_netfilter veth nf_tables nft_compat nft_chain_nat \
    xt_MASQUERADE xt_addrtype xt_conntrack xt_comment xt_mark xt_multiport ||
    say "some modules did not load"
ov=/tmp/.warren-vm-overlay
mkdir -p $ov/lower $ov/upper $ov/work $ov/merged
echo lower > $ov/lower/f
if mount -t overlay overlay -o lowerdir=$ov/lower,upperdir=$ov/upper,workdir=$ov/work $ov/merged &&
    echo upper >> $ov/merged/f && umount $ov/merged && [ "$(cat $ov/upper/f)" = "lower
upper" ]; then
    say "overlayfs on /tmp (tmpfs) works"
else
    fatal "overlayfs does not work on /tmp"
fi
rm -rf $ov
say "ready after $(up) s of guest uptime"

mkdir -p /sys/fs/cgroup/warren-job
(
    # The tests run in a leaf cgroup, as on a systemd host (never in the root cgroup).
    echo 0 > /sys/fs/cgroup/warren-job/cgroup.procs
    say "job cgroup: $(cat /proc/self/cgroup)"
    cd /job && exec /bin/sh /job/run.sh
) 2>&1
finish $?
