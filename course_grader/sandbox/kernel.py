"""The grader's side: nbgrader's grading kernel started in the sandbox.

SandboxKernelManager runs the kernel's command through the launcher (this package's __main__.py,
under `python -I`); sandboxed() puts it into nbgrader's Execute steps (exercises/nbgrader_config.py).
jupyter_client, nbgrader and traitlets are imported when first used, so that the launcher, which
imports this package too, runs on the standard library alone.
"""
from __future__ import annotations

import functools
import glob
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import tempfile

from course_grader.protocol import GradingDir, flag
from course_grader.sandbox.limits import Limits, parse_size

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__main__.py")


def shadowing(names: list[str]) -> list[str]:
    """The names that would hide an installed module in the kernel, whose folder comes first on
    sys.path: a course_grader/ or torch.py beside the notebook would replace the real one."""
    path = [p for p in sys.path if p not in ("", os.getcwd())]  # not this process's own folder

    def installed(stem: str) -> bool:
        for finder in sys.meta_path:  # editable installs have finders of their own
            find = getattr(finder, "find_spec", None)
            try:
                if find and find(stem, path if finder is importlib.machinery.PathFinder else None):
                    return True
            except Exception:  # noqa: BLE001 - a finder that cannot answer does not know it
                continue
        return False

    stems = {name: name[:-3] if name.endswith(".py") else name for name in names}
    return [name for name, stem in stems.items() if stem.isidentifier() and installed(stem)]


def copy_inputs(source: str | None, scratch: str) -> None:
    """The files beside the notebook (data files, a learner's own modules) into the scratch
    directory. Not the notebooks: the one being graded lies there with its hidden tests restored.
    Nor what would shadow an installed module (flagged)."""
    if not (source and os.path.isdir(source)):
        return
    hidden = shadowing(os.listdir(source))
    shutil.copytree(source, scratch, symlinks=True, dirs_exist_ok=True,
                    ignore=lambda folder, names: [n for n in names if n.endswith(".ipynb") or n == ".ipynb_checkpoints"
                                                  or (folder == source and n in hidden)])
    folder = GradingDir.from_env()
    if hidden and folder:
        folder.add_flags([flag("shadowing", f"{', '.join(sorted(hidden))} beside the notebook would hide the "
                                            f"installed module of that name from the grading kernel: not copied")])


SYSTEMS = {"darwin": "macOS", "win32": "Windows", "cygwin": "Windows"}


def unavailable_here(platform: str = sys.platform) -> str | None:
    """Why the sandbox cannot exist on this system at all, in words an instructor acts on; None on Linux."""
    if platform.startswith("linux"):
        return None
    system = SYSTEMS.get(platform, platform)
    return (f"{system} has no Linux namespaces or cgroups: a submission's code runs as you, can read and change "
            "what you can (the gradebook, the hidden tests in source/, the other students' files) and use the "
            "network. For a class you do not trust, grade in a Linux container or VM (README: 'Grading on macOS "
            "or Windows')")


def reference_files(modules: list[str]) -> list[str]:
    """The files of these modules (a package: its folder), with their compiled copies in __pycache__."""
    files = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            continue  # a topic not written yet
        if os.path.basename(spec.origin) == "__init__.py":
            files.append(os.path.dirname(spec.origin))
            continue
        folder, stem = os.path.split(os.path.splitext(spec.origin)[0])
        files += [spec.origin, *glob.glob(os.path.join(folder, "__pycache__", f"{stem}.*.pyc"))]
    return files


def package_folders(packages: list[str]) -> list[str]:
    """The folders of these packages, which the grading kernel imports: they must stay readable in
    the sandbox wherever the course lies (a clone under /tmp, a home folder closed to others)."""
    folders = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        folders += list(spec.submodule_search_locations or []) if spec else []
    return folders


def readable_paths(packages: list[str], hidden: list[str]) -> list[str]:
    """What the kernel imports from: these packages' folders and the folders on this Python's path
    (a venv's or conda's site-packages, a .pth's or PYTHONPATH's entries), except where hidden."""
    def inside(path, folder):
        return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
    hidden = [os.path.realpath(h) for h in hidden]
    found = package_folders(packages) + [os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)]
    return [p for p in dict.fromkeys(found) if not any(inside(p, h) for h in hidden)]


@functools.cache
def grader_side() -> dict:
    """{"SandboxKernelManager", "SandboxedExecute", "sandboxed"}: classes built on the first call."""
    from jupyter_client.manager import AsyncKernelManager
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute
    from traitlets import Integer, List, TraitError, Unicode, default, validate
    from traitlets.utils.importstring import import_item

    class SandboxKernelManager(AsyncKernelManager):
        """Starts the kernel inside the sandbox launcher (course_grader/sandbox/).

        The kernel talks over IPC sockets, files in its scratch directory that both sides reach:
        TCP on localhost does not cross into a new network namespace. The kernel runs in the
        scratch directory, with a copy of the files of the folder nbgrader runs it in, which
        lies inside the hidden course folder.
        """

        memory = Unicode("2G", help="Memory limit of the sandbox, e.g. 2G (swap included).").tag(config=True)
        processes = Integer(Limits.processes, help="Processes plus threads in the sandbox.").tag(config=True)
        cpu_seconds = Integer(Limits.cpu, help="CPU seconds per process.").tag(config=True)
        file_size = Unicode("256M", help="Largest file the sandbox can write.").tag(config=True)
        scratch_size = Unicode("512M", help="Size of the scratch folder, a tmpfs (as root).").tag(config=True)
        hidden_paths = List(Unicode(), help="Folders and files the kernel cannot read.").tag(config=True)
        readable_packages = List(Unicode(), ["course_lib", "course_grader"], help=(
            "Packages the kernel imports, readable even where the course lies in a hidden folder "
            "(/tmp) or one closed to others.")).tag(config=True)
        hidden_reference_modules = List(Unicode(), help=(
            "Modules (e.g. course_lib.neurons) whose source and compiled files the kernel cannot "
            "read or import: the reference answers.")).tag(config=True)
        uid_base = Integer(60000, help="Each sandbox runs as a user of its own, uid_base + 0..4999.").tag(config=True)

        scratch: str | None = None

        @default("transport")
        def _default_transport(self):
            return "ipc"

        @validate("memory", "file_size", "scratch_size")
        def _valid_size(self, proposal):
            try:
                parse_size(proposal["value"])
            except ValueError as err:
                raise TraitError(f"SandboxKernelManager.{proposal['trait'].name}: {err}") from None
            return proposal["value"]

        def launcher_command(self, pass_stdout: bool = False) -> list[str]:
            """The launcher's command line; pass_stdout for a program whose stdout is a channel its
            reader bounds (the grader's replay)."""
            hidden = [*self.hidden_paths, *reference_files(self.hidden_reference_modules)]
            return [sys.executable, "-I", LAUNCHER, "--scratch", self.scratch,
                    "--memory", self.memory, "--processes", str(self.processes), "--cpu", str(self.cpu_seconds),
                    "--file-size", self.file_size, "--scratch-size", self.scratch_size,
                    "--uid-base", str(self.uid_base), *(["--pass-stdout"] if pass_stdout else []),
                    *(f"--hide={path}" for path in hidden),
                    *(f"--readable={path}" for path in readable_paths(self.readable_packages, hidden)), "--"]

        async def _async_pre_start_kernel(self, **kw):
            if self.scratch is None:  # a restart keeps it
                self.scratch = tempfile.mkdtemp(prefix="course-sandbox-")
                copy_inputs(kw.get("cwd"), self.scratch)
                self.connection_file = os.path.join(self.scratch, "kernel.json")
                self.ip = os.path.join(self.scratch, "kernel")  # sockets kernel-1, kernel-2 ...
            kw["cwd"] = self.scratch
            return await super()._async_pre_start_kernel(**kw)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            why_not = unavailable_here()
            if why_not:  # the launcher itself needs Linux: fork, rlimits, namespaces
                print(f"course_grader.sandbox: WARNING: not isolated ({why_not})", file=sys.stderr)
                folder = GradingDir.from_env()
                if folder:
                    folder.add_flags([flag("not isolated", why_not)])
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            return await super()._async_launch_kernel(self.launcher_command() + kernel_cmd, **kw)

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart=restart)
            if not restart and self.scratch:
                if not unavailable_here():
                    from course_grader.sandbox.scratch import unmount_scratch  # ctypes' libc: Linux only
                    unmount_scratch(self.scratch)  # if a launcher killed outright left its tmpfs there
                shutil.rmtree(self.scratch, ignore_errors=True)
                self.scratch = None

        # AsyncKernelManager binds this name to KernelManager's method, not to the override above.
        cleanup_resources = _async_cleanup_resources

    class SandboxedExecute:
        """Mixed into an Execute step: its kernel starts in the sandbox. nbgrader 0.9.6's Execute
        passes kernel_manager_class=AsyncKernelManager itself, which overrides
        c.Execute.kernel_manager_class, so the class has to come in here."""

        def __init__(self, **kw):
            kw.setdefault("kernel_manager_class", SandboxKernelManager)
            super().__init__(**kw)

    def sandboxed(preprocessors=None) -> list:
        """nbgrader's autograde steps (by default nbgrader's own), each Execute step sandboxed."""
        steps = []
        for step in Autograde.autograde_preprocessors.default_value if preprocessors is None else preprocessors:
            step = import_item(step) if isinstance(step, str) else step
            if isinstance(step, type) and issubclass(step, Execute) and not issubclass(step, SandboxedExecute):
                name = f"Sandboxed{step.__name__}"
                step = type(name, (SandboxedExecute, step), {"__module__": __name__, "__qualname__": name})
            steps.append(step)
        return steps

    return {"SandboxKernelManager": SandboxKernelManager, "SandboxedExecute": SandboxedExecute,
            "sandboxed": sandboxed}
