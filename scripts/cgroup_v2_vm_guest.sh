#!/bin/sh
# The guest's side of scripts/cgroup_v2_vm.py, read from the control share (/vmctl) at each boot:
#   guest.sh boot          PID 1 after the image's /init: mounts, the shares (/vmctl/spec.sh), runs
#                          /vmctl/command.sh's command with its output in /vmctl/stdout and
#                          /vmctl/stderr, its exit code in /vmctl/status, then powers off
#   guest.sh as-user CMD   CMD as the unprivileged user in a new cgroup delegated to it, as systemd's
#                          Delegate=yes does, /sys/fs/cgroup/user-grader/run-N.scope (also installed
#                          as /usr/local/bin/vm-as-user)
set -u
CTL=/vmctl
CGROUP=/sys/fs/cgroup

mount_share() {  # tag, path, kind: ro or overlay (read-only on the host, writable in RAM here)
    options=trans=virtio,version=9p2000.L,msize=262144,ro,cache=loose  # loose: nothing changes it meanwhile
    if [ "$3" = overlay ]; then
        mkdir -p "/run/share/$1/lower" "/run/share/$1/upper" "/run/share/$1/work" "$2"
        mount -t 9p -o "$options" "$1" "/run/share/$1/lower" &&
            mount -t overlay -o "lowerdir=/run/share/$1/lower,upperdir=/run/share/$1/upper,workdir=/run/share/$1/work" \
                overlay "$2"
    else
        mkdir -p "$2" && mount -t 9p -o "$options" "$1" "$2"
    fi || echo "vm: cannot mount share $1 at $2" >&2
}

open_parents() {  # the user must reach the shares: pyenv's Python lies in /root, mode 700 here
    echo "$VM_SHARES" | while read -r tag path kind; do
        folder=$(dirname "$path")
        while [ "$folder" != / ]; do
            case $(stat -c %A "$folder") in
                *x | *t) ;;
                *) chmod o+x "$folder" && echo "vm: chmod o+x $folder so that $VM_USER reaches $path" >&2 ;;
            esac
            folder=$(dirname "$folder")
        done
    done
}

give_clone() {  # the repository is the user's, as an instructor's clone is; its .venv stays root's
    echo "$VM_SHARES" | while read -r tag path kind; do
        [ "$kind" = overlay ] && find "$path" -path "$path/.venv" -prune -o -exec chown -h "$VM_USER:$VM_USER" {} +
    done
}

as_user() {
    # Like systemd's user-1000.slice: root's, the controllers enabled for its children.
    slice="$CGROUP/user-$VM_USER"
    if [ ! -d "$slice" ]; then
        mkdir "$slice" && echo "+memory +pids" > "$slice/cgroup.subtree_control"
        open_parents
    fi
    give_clone  # again each time: what root's commands made in the clone since (build/, __pycache__/)
    # A delegated group of its own for each command, as `systemd-run --user --scope -p Delegate=yes`
    # makes: an earlier command's group may hold controllers for its children and so refuse processes.
    n=1
    while [ -e "$slice/run-$n.scope" ]; do n=$((n + 1)); done
    group="$slice/run-$n.scope"
    mkdir "$group" || exit 125
    # What systemd hands to a unit with Delegate=yes: the folder and these three files.
    chown "$VM_USER:$VM_USER" "$group" "$group/cgroup.procs" "$group/cgroup.subtree_control" "$group/cgroup.threads"
    home=$(getent passwd "$VM_USER" | cut -d: -f6)
    # sh -c: $$ is then the process that becomes CMD, so CMD starts inside the delegated group.
    exec sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$group" \
        setpriv --reuid="$VM_USER" --regid="$VM_USER" --init-groups --inh-caps=-all \
        env HOME="$home" USER="$VM_USER" LOGNAME="$VM_USER" "$@"
}

boot() {
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
    mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
    mkdir -p /dev/shm /dev/pts
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
    mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
    # systemd's options; with cgroup_no_v1=all on the kernel's command line no v1 hierarchy can exist.
    mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 "$CGROUP"
    echo "+memory +pids" > "$CGROUP/cgroup.subtree_control"
    ip link set lo up
    hostname cgroup-v2-vm
    userns=/proc/sys/kernel/unprivileged_userns_clone  # Debian's switch; 1 by default since Debian 11
    [ -e "$userns" ] && [ "$(cat "$userns")" != 1 ] && echo 1 > "$userns"
    . "$CTL/spec.sh"
    . "$CTL/command.sh"
    echo "$VM_SHARES" | while read -r tag path kind; do
        [ -n "$tag" ] && mount_share "$tag" "$path" "$kind"
    done
    printf '#!/bin/sh\nexec /bin/sh %s/guest.sh as-user "$@"\n' "$CTL" > /usr/local/bin/vm-as-user
    chmod 755 /usr/local/bin/vm-as-user
    cut -d' ' -f1 /proc/uptime > "$CTL/booted.tmp" && mv "$CTL/booted.tmp" "$CTL/booted"  # whole when seen
    if [ "$VM_AS_USER" = 1 ]; then
        (as_user "$@")
    else
        mkdir -p "$CGROUP/user-root"
        sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CGROUP/user-root" "$@"
    fi < /dev/null > "$CTL/stdout" 2> "$CTL/stderr"
    echo $? > "$CTL/status"
    sync
    echo o > /proc/sysrq-trigger  # power off; qemu then exits
    sleep 10
}

command=$1
shift
case "$command" in
    boot) boot ;;
    as-user)
        . "$CTL/spec.sh"
        [ "$(id -u)" = 0 ] || { echo "vm-as-user: only root can start a command as $VM_USER" >&2; exit 125; }
        as_user "$@" ;;
esac
