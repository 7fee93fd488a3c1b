"""The guest image of scripts/cgroup_v2_vm.py: a minimal Debian 12 made by mmdebstrap from this
machine's apt mirror, turned into an initramfs (a newc cpio) with the host kernel's virtio, 9p and
overlay modules and a small /init, cached outside the repository under a hash of this recipe.

The whole guest lives in the initramfs: no disk, so no block driver and no host initrd are needed,
and its root file system is writable RAM that vanishes at power-off.
"""
from __future__ import annotations

import fcntl
import glob
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

SUITE = "bookworm"
# Debian's essential set lacks `mount`, kmod's insmod and `ip` (the loopback); the libraries are what
# pyenv's Python (its lib-dynload, tkinter aside) and the wheels of the course's venv link against.
PACKAGES = ["mount", "kmod", "iproute2", "libbz2-1.0", "libssl3", "libexpat1", "libffi8", "libncursesw6",
            "libnsl2", "libreadline8", "libsqlite3-0", "libstdc++6"]
EXCLUDED = ["/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*", "/usr/share/locale/*"]
MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay"]  # with what they depend on, loaded in order
USER, UID, HOME = "grader", 1000, "/home/grader"
ACCOUNT = [f"echo '{USER}:x:{UID}:{UID}:{USER}:{HOME}:/bin/sh' >> \"$1/etc/passwd\"",
           f"echo '{USER}:x:{UID}:' >> \"$1/etc/group\"",
           f"echo '{USER}:*:19000:0:99999:7:::' >> \"$1/etc/shadow\"",
           f"mkdir -p \"$1{HOME}\"", f"chown {UID}:{UID} \"$1{HOME}\"", f"chmod 700 \"$1{HOME}\""]
# PID 1 until the control share is mounted; the rest of the boot comes from that share
# (cgroup_v2_vm_guest.sh), so changing it does not rebuild the image.
INIT = """#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for module in $(cat /lib/modules/vm/order); do insmod "/lib/modules/vm/$module.ko" || echo "vm: insmod $module failed"; done
mkdir -p /vmctl
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 vmctl /vmctl; then
    exec /bin/sh /vmctl/guest.sh boot
fi
echo "vm: cannot mount the control share"
echo o > /proc/sysrq-trigger
"""


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "course-grader-vm"


def kernel() -> tuple[str, Path] | None:
    """The newest /boot/vmlinuz-* whose modules are installed (linux-image-amd64): (release, file)."""
    found = []
    for path in glob.glob("/boot/vmlinuz-*"):
        release = path.removeprefix("/boot/vmlinuz-")
        if os.path.exists(f"/lib/modules/{release}/modules.dep") and os.access(path, os.R_OK):
            found.append((tuple(int(p) if p.isdigit() else 0 for p in release.replace("-", ".").split(".")),
                          release, Path(path)))
    return max(found)[1:] if found else None


def apt_sources() -> list[str]:
    """This machine's Debian mirror(s) for SUITE, as one-line sources for mmdebstrap."""
    lines = []
    for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
        for line in Path(path).read_text().splitlines() if os.path.exists(path) else []:
            words = line.split("#")[0].split()
            suite_at = next((i for i, w in enumerate(words) if i > 1 and not w.endswith("]")), None)
            if words[:1] == ["deb"] and suite_at and words[suite_at].split("-")[0] == SUITE:
                lines.append(" ".join(words))
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in Path(path).read_text().split("\n\n"):
            fields = dict(line.split(":", 1) for line in stanza.splitlines()
                          if ":" in line and not line.startswith(("#", " ")))
            fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
            if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
                continue
            key = fields.get("signed-by", "")
            option = f"[signed-by={key}] " if key.startswith("/") else ""
            for uri in fields.get("uris", "").split():
                for suite in fields.get("suites", "").split():
                    if suite.split("-")[0] == SUITE:
                        lines.append(f"deb {option}{uri} {suite} {fields.get('components', 'main')}")
    return lines or [f"deb http://deb.debian.org/debian {SUITE} main"]


def module_files(release: str) -> list[Path]:
    """MODULES and their dependencies, each after what it needs (from modules.dep)."""
    base = Path("/lib/modules") / release
    deps = {}
    for line in (base / "modules.dep").read_text().splitlines():
        name, _, needs = line.partition(":")
        deps[Path(name).name.split(".ko")[0].replace("-", "_")] = (base / name, needs.split())
    ordered: list[Path] = []

    def add(module: str) -> None:
        path, needs = deps[module.replace("-", "_")]
        for need in needs:
            add(Path(need).name.split(".ko")[0])
        if path not in ordered:
            ordered.append(path)
    for module in MODULES:
        add(module)
    return ordered


def recipe_key(release: str, sources: list[str]) -> str:
    recipe = hashlib.sha256(Path(__file__).read_bytes())
    recipe.update("\n".join([release, *sources]).encode())
    return recipe.hexdigest()[:16]


class Cpio:
    """A newc cpio archive, the format the kernel unpacks as its initramfs."""

    def __init__(self, out):
        self.out, self.inode = out, 0

    def add(self, name: str, mode: int, data: bytes = b"", uid=0, gid=0, mtime=0, rdev=(0, 0)) -> None:
        self.inode += 1
        encoded = name.encode() + b"\0"
        fields = [self.inode, mode, uid, gid, 1, int(mtime), len(data), 0, 0, *rdev, len(encoded), 0]
        self.out.write(b"070701" + b"".join(b"%08X" % f for f in fields) + encoded)
        self.out.write(b"\0" * (-(110 + len(encoded)) % 4) + data + b"\0" * (-len(data) % 4))

    def add_tar(self, tar: tarfile.TarFile) -> None:
        for member in tar:
            name = member.name.removeprefix("./").rstrip("/")
            if name in ("", "."):
                continue
            kinds = {tarfile.DIRTYPE: 0o040000, tarfile.SYMTYPE: 0o120000, tarfile.CHRTYPE: 0o020000,
                     tarfile.BLKTYPE: 0o060000, tarfile.FIFOTYPE: 0o010000}
            if member.isfile() or member.islnk():  # a hard link becomes a copy: simpler, and rare here
                data = tar.extractfile(member).read()
                self.add(name, 0o100000 | member.mode, data, member.uid, member.gid, member.mtime)
            elif member.type in kinds:
                data = member.linkname.encode() if member.issym() else b""
                self.add(name, kinds[member.type] | member.mode, data, member.uid, member.gid, member.mtime,
                         (member.devmajor, member.devminor))

    def close(self) -> None:
        self.add("TRAILER!!!", 0)


def _mmdebstrap(tar_path: Path, sources: list[str]) -> None:
    command = ["mmdebstrap", "--variant=essential", f"--include={','.join(PACKAGES)}",
               *(f"--dpkgopt=path-exclude={p}" for p in EXCLUDED),
               *(f"--customize-hook={step}" for step in ACCOUNT), SUITE, str(tar_path), *sources]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise SystemExit(f"cgroup_v2_vm: mmdebstrap failed:\n{done.stdout[-4000:]}\n$ {' '.join(command)}")


def build(say=print) -> Path:
    """The cached image folder (image.cpio and vmlinuz), built first if the recipe changed."""
    found = kernel()
    if not found:
        raise SystemExit("cgroup_v2_vm: no kernel: install linux-image-amd64 (scripts/install_system_deps.sh vm)")
    release, vmlinuz = found
    sources = apt_sources()
    root = cache_root()
    folder = root / recipe_key(release, sources)
    if (folder / "image.cpio").exists():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another build of the same recipe may be under way
        if (folder / "image.cpio").exists():
            return folder
        if not shutil.which("mmdebstrap"):
            raise SystemExit("cgroup_v2_vm: mmdebstrap not found (scripts/install_system_deps.sh vm)")
        started = time.monotonic()
        say(f"cgroup_v2_vm: building the guest image (Debian {SUITE}, kernel {release}) from {', '.join(sources)}")
        building = root / f"{folder.name}.tmp"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()
        _mmdebstrap(building / "root.tar", sources)
        with open(building / "image.cpio", "wb") as out, tarfile.open(building / "root.tar") as tar:
            cpio = Cpio(io.BufferedWriter(out, 1 << 20))
            cpio.add_tar(tar)
            cpio.add("init", 0o100755, INIT.encode())
            for directory in ("usr/lib/modules", "usr/lib/modules/vm"):  # not lib/: a link to usr/lib
                cpio.add(directory, 0o040755)
            modules = module_files(release)
            for path in modules:
                cpio.add(f"usr/lib/modules/vm/{path.name.split('.ko')[0]}.ko", 0o100644, path.read_bytes())
            cpio.add("usr/lib/modules/vm/order", 0o100644, "".join(p.name.split(".ko")[0] + "\n" for p in modules).encode())
            cpio.close()
            cpio.out.flush()
        (building / "root.tar").unlink()
        shutil.copyfile(vmlinuz, building / "vmlinuz")
        for old in root.iterdir():  # images of older recipes: about 100 MB each
            if old.is_dir() and old != building:
                shutil.rmtree(old, ignore_errors=True)
        building.rename(folder)
        size = (folder / "image.cpio").stat().st_size / 2**20
        say(f"cgroup_v2_vm: built {folder / 'image.cpio'} ({size:.0f} MiB) in {time.monotonic() - started:.1f} s")
    return folder
