# The fixed part of the job's run.sh (`cargo xtask vm run` puts the settings before it and
# one `run_binary` line per test binary and containerd line after it).
# Needs: $deadline, in seconds of guest uptime.
export WARREN_DEPS_DIR=/job/target/warren-deps
export WARREN_WARREND_BIN=/job/target/debug/warrend
up() { cut -d' ' -f1 /proc/uptime; }
failed=0
late=/tmp/.warren-vm-deadline
current=/tmp/.warren-vm-current

# At the deadline (before the host kills qemu): show what still runs and the tail of the
# tests' logs, then kill the running test binary so the guest can report and power off.
watchdog() {
    while [ "$(cut -d. -f1 /proc/uptime)" -lt "$deadline" ]; do
        sleep 5
    done
    touch $late
    echo "warren-vm: DEADLINE: ${deadline} s of guest uptime passed; processes:"
    busybox ps -o pid,ppid,stat,args
    for f in /tmp/*/*.log; do
        [ -f "$f" ] || continue
        echo "warren-vm: --- last lines of $f"
        tail -n 20 "$f"
    done
    [ -s $current ] && kill -9 "$(cat $current)"
}
watchdog &
watchdog_pid=$!

run_binary() {
    line=$1 name=$2
    shift 2
    if [ -e $late ]; then
        echo "warren-vm: $name on containerd $line not run: past the deadline"
        failed=$((failed + 1))
        return
    fi
    echo "warren-vm: running $name on containerd $line"
    t0=$(up)
    WARREN_CONTAINERD_LINE=$line "$@" &
    echo $! > $current
    wait $!
    rc=$?
    : > $current
    echo "warren-vm: $name on containerd $line exited $rc after $(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }') s"
    [ $rc -eq 0 ] || failed=$((failed + 1))
}

# cargo runs test binaries in their package's folder.
mkdir -p /job/tests && cd /job/tests || exit 90

finish_batch() {
    kill $watchdog_pid 2>/dev/null
    echo "warren-vm: $failed test binary runs failed"
    [ -e $late ] && exit 124
    [ $failed -eq 0 ] || exit 101
    exit 0
}
