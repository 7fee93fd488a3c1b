#!/usr/bin/env bash
# System packages the test suite needs beyond Python, from Debian's packages:
#   chromium     the browser that tests/test_browser.py drives through the pip `playwright` package
#   postgresql   the database server that tests/test_postgres_gradebook.py starts for a gradebook
#   vm           qemu, Debian's kernel and mmdebstrap: the cgroup v2 guest of scripts/cgroup_v2_vm.py
#                that tests/test_cgroup_v2.py boots (packages qemu-system-x86, linux-image-amd64,
#                mmdebstrap)
#   fonts        fonts-noto-cjk: the Chinese lessons' figures draw their labels in Chinese with it
#                (course_lib/figure_language.py; without it they stay English)
# Idempotent: installs only what is missing (/usr/bin/chromium; /usr/lib/postgresql/*/bin/initdb;
# qemu-system-x86_64, mmdebstrap and a /boot/vmlinuz-* with its modules).
# Run by `make test`; safe to run by hand. `install_system_deps.sh postgresql` installs one part.
#
# Without root or apt-get it prints why and exits 0: the tests that need a package then skip with
# that reason on a workstation, and fail in CI (CI=true), where they are required.
set -u
CHROMIUM="${COURSE_CHROMIUM:-/usr/bin/chromium}"  # tests/test_browser.py reads the same variable
PARTS=("$@")
[ $# -gt 0 ] || PARTS=(chromium postgresql vm fonts)
VM_PACKAGES=(qemu-system-x86 linux-image-amd64 mmdebstrap)

has_kernel() {  # the kernel scripts/cgroup_v2_vm.py boots: an image with its modules installed
    local image
    for image in /boot/vmlinuz-*; do
        [ -e "/lib/modules/${image#/boot/vmlinuz-}/modules.dep" ] && return 0
    done
    return 1
}

missing=()
for part in "${PARTS[@]}"; do
    case "$part" in
        chromium) [ -x "$CHROMIUM" ] || missing+=(chromium) ;;
        postgresql) compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql) ;;
        fonts) compgen -G "/usr/share/fonts/opentype/noto*/NotoSansCJK-Regular.ttc" >/dev/null || missing+=(fonts-noto-cjk) ;;
        vm)
            if ! grep -qwE 'vmx|svm' /proc/cpuinfo 2>/dev/null && [ "${COURSE_VM_ACCEL:-kvm}" != tcg ]; then
                # tests/test_cgroup_v2.py skips without hardware virtualisation: nothing to install
                echo "install_system_deps: no vmx or svm CPU flag: the cgroup v2 guest would not boot" \
                     "under KVM here, so qemu is not installed (COURSE_VM_ACCEL=tcg: emulated)" >&2
            elif ! { command -v qemu-system-x86_64 && command -v mmdebstrap && has_kernel; } >/dev/null; then
                missing+=("${VM_PACKAGES[@]}")
            fi ;;
        *) echo "install_system_deps: unknown part '$part' (chromium, postgresql, vm, fonts)" >&2; exit 2 ;;
    esac
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_system_deps: apt-get not found; install ${missing[*]} yourself, or the tests" \
         "that need it (test_browser.py, test_postgres_gradebook.py, test_cgroup_v2.py) are skipped." >&2
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install_system_deps: not root; run 'sudo apt-get install ${missing[*]}' once," \
             "or the tests that need it (test_browser.py, test_postgres_gradebook.py, test_cgroup_v2.py) are skipped." >&2
        exit 0
    fi
else
    SUDO=""
fi
echo "install_system_deps: installing ${missing[*]} from Debian's packages" \
     "(Chromium: about 25 s, 480 MB; PostgreSQL: about 65 MB; vm: about 60 s, 500 MB; fonts: about 5 s, 90 MB)..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "install_system_deps: apt-get install ${missing[*]} failed; the tests that need it are" \
         "skipped (and fail in CI)." >&2
    exit 0
fi
for part in "${missing[@]}"; do
    case "$part" in
        chromium) version=$("$CHROMIUM" --version 2>/dev/null) ;;
        postgresql) version=$(/usr/lib/postgresql/*/bin/initdb --version 2>/dev/null) ;;
        qemu-system-x86) version=$(qemu-system-x86_64 --version 2>/dev/null | head -n 1) ;;
        linux-image-amd64) version="kernel $(ls /boot/vmlinuz-* 2>/dev/null | tr '\n' ' ')" ;;
        mmdebstrap) version="mmdebstrap $(mmdebstrap --version 2>/dev/null)" ;;
        *) version="" ;;
    esac
    [ -n "$version" ] && echo "install_system_deps: $version" >&2
done
exit 0
