#!/usr/bin/env python3
"""Run a command in a small Debian 12 guest (qemu/KVM) whose only cgroups are v2's (memory and pids
enabled at the root), to test course_grader/sandbox/ on cgroup v2 from any host. Standard library only.

    python scripts/cgroup_v2_vm.py check     what is missing (KVM, qemu, mmdebstrap, the kernel); exit 0 if nothing
    python scripts/cgroup_v2_vm.py build     build the guest image or find it in the cache; say where, how long
    python scripts/cgroup_v2_vm.py run [--user] [--cwd DIR] [--env K=V]... [--timeout S] [--accel tcg] -- CMD...

`run` boots the guest (2 vCPUs, 4 GiB, no network) and runs CMD as root in /sys/fs/cgroup/user-root,
or with --user as `grader` (uid 1000) in /sys/fs/cgroup/user-grader/run-1.scope, delegated to it as
systemd's Delegate=yes does; it streams CMD's output and exits with CMD's exit code (124 at --timeout, 1800 s
by default). In the guest, `vm-as-user CMD...` runs CMD as that user from a root command.
--accel tcg (or COURSE_VM_ACCEL=tcg) emulates the CPU where KVM cannot boot a stock kernel: slow.

The guest sees, at their host paths, read-only on the host's side: this repository (its .venv in
it) under a RAM overlay, so that writes succeed in the guest and vanish at power-off (a --user run
owns it, .venv aside, as an instructor owns a clone); the venv's base Python (.venv/pyvenv.cfg);
../shared beside the repository. /tmp is a tmpfs. CMD's environment is clean: PATH (the venv's bin
first), HOME, USER, LANG, PYTHONDONTWRITEBYTECODE=1, PYTHONUNBUFFERED=1, then --env.
Packages: `bash scripts/install_system_deps.sh vm`. The image (about 120 MB, built in about 30 s)
is cached in ${XDG_CACHE_HOME:-~/.cache}/course-grader-vm/ under a hash of its recipe
(scripts/cgroup_v2_vm_image.py, the kernel, the apt sources).
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cgroup_v2_vm_image as image  # noqa: E402 - beside this file, whatever the working directory

REPO = Path(__file__).resolve().parents[1]
GUEST = Path(__file__).resolve().parent / "cgroup_v2_vm_guest.sh"
QEMU = "qemu-system-x86_64"
BOOT_LIMIT = {"kvm": 60, "tcg": 300}  # seconds until the shares are mounted: a hung boot fails fast
KERNEL_OPTIONS = "console=ttyS0 quiet loglevel=4 panic=-1 cgroup_no_v1=all"


def kvm_problem() -> str | None:
    """Why KVM cannot boot a stock kernel here, or None."""
    if not os.path.exists("/dev/kvm"):
        return "/dev/kvm (no KVM here)"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return f"access to /dev/kvm (add uid {os.getuid()} to group kvm)"
    with open("/proc/cpuinfo") as cpuinfo:
        flags = {word for line in cpuinfo if line.startswith("flags") for word in line.split()}
    if not flags & {"vmx", "svm"}:
        # Such a /dev/kvm (kvm_pvm: a sandbox's nested "PVM") runs only kernels built for it: Debian's
        # hangs after "Probing EDD" with no error, so refuse rather than wait for the time limit.
        pvm = ", /dev/kvm is kvm_pvm's" if os.path.exists("/sys/module/kvm_pvm") else ""
        return (f"hardware virtualisation (no vmx or svm among the CPU flags{pvm}): a stock kernel cannot boot "
                "under this KVM; COURSE_VM_ACCEL=tcg (--accel tcg) emulates instead, 15-20 times slower")
    return None


def missing(kvm: bool = True, build: bool = True) -> list[str]:
    """What `run` (with kvm, under KVM; with build, able to build) needs and this machine lacks, one line each."""
    lacking = [problem for problem in [kvm_problem()] if problem and kvm]
    if not shutil.which(QEMU):
        lacking.append(f"{QEMU} (Debian package qemu-system-x86)")
    if build and not shutil.which("mmdebstrap"):
        lacking.append("mmdebstrap (Debian package mmdebstrap)")
    if not image.kernel():
        lacking.append("a kernel: /boot/vmlinuz-* with its modules (Debian package linux-image-amd64)")
    return lacking


def base_prefix(venv: Path) -> Path | None:
    """The installation the venv's python comes from (pyvenv.cfg's home, without bin/)."""
    config = venv / "pyvenv.cfg"
    lines = config.read_text().splitlines() if config.exists() else []
    home = {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in lines)}.get("home")
    if not home:
        return None
    prefix = Path(home).resolve()
    return prefix.parent if prefix.name == "bin" else prefix


def shares() -> list[tuple[str, Path, str]]:
    """(path, kind): what the guest sees of the host, at the same paths."""
    wanted = [(REPO, "overlay")]
    prefix = base_prefix(REPO / ".venv")
    if prefix and str(prefix) in ("/", "/usr"):
        raise SystemExit(f"cgroup_v2_vm: the venv's Python is the system's ({prefix}): the guest has none; "
                         "make .venv from another Python (pyenv's, uv's)")
    if prefix:
        wanted.append((prefix, "ro"))
    if (REPO.parent / "shared").is_dir():
        wanted.append(((REPO.parent / "shared").resolve(), "ro"))
    kept = []
    for path, kind in sorted(wanted, key=lambda w: len(w[0].parts)):  # a path inside another comes with it
        if not any(path == k or k in path.parents for k, _ in kept):
            kept.append((path, kind))
    return [(f"vm{i}", path, kind) for i, (path, kind) in enumerate(kept)]


def command_line(args, shared) -> list[str]:
    """CMD behind `env -i`: the guest's environment and working directory, decided here."""
    home = image.HOME if args.user else "/root"
    user = image.USER if args.user else "root"
    cwd = args.cwd or (os.getcwd() if any(Path(os.getcwd()).is_relative_to(p) for _, p, _ in shared) else str(REPO))
    path = f"{REPO / '.venv' / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env = [f"PATH={path}", f"HOME={home}", f"USER={user}", f"LOGNAME={user}", "LANG=C.UTF-8", "TERM=dumb",
           "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", *args.env]
    return ["env", "-i", "-C", cwd, *env, *args.command]


def escape(path: Path) -> str:
    return str(path).replace(",", ",,")  # qemu's option syntax


def qemu_command(folder: Path, ctl: Path, shared, accel: str) -> list[str]:
    cpu = ["-enable-kvm", "-cpu", "host"] if accel == "kvm" else ["-accel", "tcg,thread=multi", "-cpu", "max"]
    command = [QEMU, *cpu, "-smp", "2", "-m", "4G", "-machine", "q35",
               "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-nic", "none",
               "-serial", f"file:{ctl / 'console.log'}",
               "-kernel", str(folder / "vmlinuz"), "-initrd", str(folder / "image.cpio"), "-append", KERNEL_OPTIONS,
               "-virtfs", f"local,path={escape(ctl)},mount_tag=vmctl,security_model=none,id=vmctl"]
    for tag, path, _ in shared:
        command += ["-virtfs", f"local,path={escape(path)},mount_tag={tag},security_model=none,readonly=on,id={tag}"]
    return command


class Tail:
    """Copies what the guest appends to a file of the control share to one of our streams."""

    def __init__(self, path: Path, out):
        self.path, self.out, self.file = path, out, None

    def pump(self) -> None:
        if self.file is None and self.path.exists():
            self.file = open(self.path, "rb")
        if self.file is not None:
            data = self.file.read()
            if data:
                self.out.write(data)
                self.out.flush()


def run(args) -> int:
    lacking = missing(kvm=args.accel == "kvm", build=False)
    if lacking:
        raise SystemExit(f"cgroup_v2_vm: cannot run the guest, missing: {'; '.join(lacking)}")
    folder = image.build(say=lambda text: print(text, file=sys.stderr))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops qemu
    shared = shares()
    ctl = Path(tempfile.mkdtemp(prefix="cgroup-v2-vm-"))
    try:
        ctl.chmod(0o755)  # the guest's user runs vm-as-user from it
        shutil.copyfile(GUEST, ctl / "guest.sh")
        listing = "\n".join(f"{tag} {path} {kind}" for tag, path, kind in shared)
        (ctl / "spec.sh").write_text(f"VM_USER={image.USER}\nVM_AS_USER={int(args.user)}\n"
                                     f"VM_SHARES={shlex.quote(listing)}\n")
        (ctl / "command.sh").write_text(f"set -- {shlex.join(command_line(args, shared))}\n")
        return boot(folder, ctl, shared, args.timeout, args.accel)
    finally:
        shutil.rmtree(ctl, ignore_errors=True)


def boot(folder: Path, ctl: Path, shared, timeout: float, accel: str) -> int:
    started = time.monotonic()
    with open(ctl / "qemu.log", "wb") as log:
        qemu = subprocess.Popen(qemu_command(folder, ctl, shared, accel), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    tails = [Tail(ctl / "stdout", sys.stdout.buffer), Tail(ctl / "stderr", sys.stderr.buffer)]
    booted, boot_limit = None, BOOT_LIMIT[accel]
    try:
        while qemu.poll() is None:
            if booted is None and (ctl / "booted").exists():
                booted = time.monotonic() - started
                uptime = (ctl / "booted").read_text().strip()
                say(f"booted in {booted:.1f} s (the guest's kernel and init: {uptime} s)")
            if booted is None and time.monotonic() - started > boot_limit:
                say(f"the guest did not boot within {boot_limit} s; its console:\n"
                    + (ctl / "console.log").read_text(errors="replace")[-3000:])
                return 125
            for tail in tails:
                tail.pump()
            if time.monotonic() - started > timeout:
                qemu.kill()
                qemu.wait()
                say(f"time limit of {timeout:g} s reached: guest stopped")
                return 124
            time.sleep(0.05)
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
    for tail in tails:
        tail.pump()
    status = (ctl / "status").read_text().strip() if (ctl / "status").exists() else ""
    if not status.isdigit():
        console = (ctl / "console.log").read_text(errors="replace").splitlines()[-40:]
        qemu_log = (ctl / "qemu.log").read_text(errors="replace").strip()
        say(f"the guest ended without running the command (qemu exit {qemu.returncode}); its console:\n"
            + "\n".join(console) + (f"\nqemu: {qemu_log}" if qemu_log else ""))
        return 125
    command = time.monotonic() - started - (booted or 0)
    say(f"exit {status}; boot {booted or 0:.1f} s, command and power-off {command:.1f} s")
    return int(status)


def say(text: str) -> None:
    print(f"cgroup_v2_vm: {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cgroup_v2_vm.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("check", help="what is missing; exit 0 when nothing")
    sub.add_parser("build", help="build (or find in the cache) the guest image")
    runner = sub.add_parser("run", help="boot the guest and run CMD in it")
    runner.add_argument("--user", action="store_true", help=f"as {image.USER} in a delegated cgroup, not root")
    runner.add_argument("--cwd", help="working directory in the guest (default: here if shared, else the repository)")
    runner.add_argument("--env", action="append", default=[], metavar="K=V", help="set in CMD's environment")
    runner.add_argument("--timeout", type=float, default=1800, help="seconds for the whole run (boot included)")
    runner.add_argument("--accel", choices=["kvm", "tcg"], default=os.environ.get("COURSE_VM_ACCEL", "kvm"),
                        help="tcg: emulate, without KVM (slow); default $COURSE_VM_ACCEL or kvm")
    runner.add_argument("command", nargs="+", metavar="CMD")
    args = parser.parse_args(argv)
    if args.action == "check":
        lacking = missing(kvm=os.environ.get("COURSE_VM_ACCEL", "kvm") == "kvm")
        for line in lacking:
            print(f"missing: {line}")
        if not lacking:
            found = image.kernel()
            print(f"cgroup_v2_vm: all there (kernel {found[0]}); image cache: {image.cache_root()}")
        return 1 if lacking else 0
    if args.action == "build":
        started = time.monotonic()
        folder = image.build()
        print(f"cgroup_v2_vm: image {folder / 'image.cpio'}, kernel {folder / 'vmlinuz'} "
              f"({time.monotonic() - started:.1f} s)")
        return 0
    if any("=" not in pair for pair in args.env):
        parser.error("--env takes K=V")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
