"""Smoke test of the built Linux installers (run after packaging/build.sh; takes a few minutes).

    python3 packaging/smoke_test.py [--runs 5] [--gui-seconds 6] [--dpkg-install]

Into a fresh temporary folder it unpacks the .tar.gz, runs its install.sh with that folder as prefix and HOME,
checks the installed menu entry, icons and MIME type, then runs the installed app several times: the
self-test (a CPU fit, a .lgi round trip, a fit in the engine process), the CLI, and the GUI offscreen for a
few seconds showing a .lgi (so the engine process decodes it). The first run of each starts cold: the
installed files are evicted from the page cache and the kernel cache is empty. It also runs the self-test
without HOME and, as root, as an unprivileged user with a read-only HOME, then checks the .deb (its control
fields and contents, and the self-test of its extracted copy). ``--dpkg-install`` (root only) also installs
the .deb with dpkg, runs /usr/bin/lgi-studio --self-test, and removes it again.

Only the standard library is used: run it with any Python 3.10+. Prints a markdown table of the measured
figures (docs/packaging.md) and exits 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIGNATURE = b"\x89LGI\r\n\x1a\n"
CRASH_MARKS = ("Traceback", "Segmentation fault", "core dumped", "Aborted", "terminate called", "Fatal Python")
failures: list[str] = []


def check(ok: bool, what: str) -> bool:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failures.append(what)
    return ok


def mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


def tree_size(folder: Path) -> tuple[int, int]:
    """Bytes and files under ``folder``, symbolic links not followed."""
    total = files = 0
    for base, _, names in os.walk(folder):
        for name in names:
            total += os.lstat(os.path.join(base, name)).st_size
            files += 1
    return total, files


def write_png(path: Path, width: int = 48, height: int = 32) -> None:
    """A small RGB gradient as PNG, without Pillow."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 5 % 256, y * 7 % 256, (x + y) * 3 % 256))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )


def evict(folder: Path) -> None:
    """Drop ``folder``'s files from the page cache, so the next start reads them from disk (a cold start)."""
    os.sync()
    for base, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            if os.path.islink(path):
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def clean_env(home: Path | None, **extra: str) -> dict[str, str]:
    """A desktop-like environment without this machine's Python, virtualenv or caches leaking in."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen"}
    if home is not None:
        env["HOME"] = str(home)
    env.update(extra)
    return env


def run(cmd: list[str], env: dict[str, str], timeout: float = 300, user: str | None = None) -> tuple[int, str, float]:
    if user is not None:
        import pwd

        entry = pwd.getpwnam(user)
        cmd = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--", *cmd]
    start = time.perf_counter()
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        return -999, f"timed out after {timeout} s\n{exc.stdout or ''}{exc.stderr or ''}", timeout
    return out.returncode, out.stdout + out.stderr, time.perf_counter() - start


def is_cache(path: Path) -> bool:
    """Files the desktop's cache tools generate for a whole prefix; an uninstall refreshes, not removes, them."""
    generated_mime = "mime" in path.parts and "packages" not in path.parts
    return path.name in ("mimeinfo.cache", "icon-theme.cache") or generated_mime


def crashed(code: int, output: str) -> bool:
    return code < 0 or any(mark in output for mark in CRASH_MARKS)


def leftover_processes(prefix: Path) -> list[int]:
    """Processes still running an executable from under ``prefix`` (an engine that outlived its window)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "exe").startswith(str(prefix)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def gui_once(app: Path, picture: Path, env: dict[str, str], seconds: float) -> dict:
    """Start the app on ``picture``; time from launch to the 'window shown' line; collect what it printed."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(app), "--quit-after", str(seconds), str(picture)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    shown_at = None
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip())
        if line.startswith("window shown") and shown_at is None:
            shown_at = time.perf_counter() - start
    try:
        code = proc.wait(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = -999
    return {"code": code, "shown": shown_at, "lines": lines, "total": time.perf_counter() - start}


def check_desktop_files(prefix: Path) -> None:
    share = prefix / "share"
    desktop = (share / "applications" / "lgi-studio.desktop").read_text()
    check(f'Exec="{prefix}/bin/lgi-studio" %f' in desktop, "menu entry runs the installed lgi-studio with the file")
    check("MimeType=application/x-lgi;" in desktop, "menu entry opens .lgi files")
    if shutil.which("desktop-file-validate"):
        code, out, _ = run(["desktop-file-validate", str(share / "applications" / "lgi-studio.desktop")], os.environ)
        check(code == 0 and not out.strip(), f"desktop-file-validate: {out.strip() or 'clean'}")
    for icon in ("256x256/apps/lgi-studio.png", "48x48/apps/lgi-studio.png", "scalable/apps/lgi-studio.svg"):
        check((share / "icons" / "hicolor" / icon).is_file(), f"icon {icon}")
    if shutil.which("update-mime-database"):
        globs = (share / "mime" / "globs2").read_text() if (share / "mime" / "globs2").exists() else ""
        magic = (share / "mime" / "magic").read_bytes() if (share / "mime" / "magic").exists() else b""
        check("application/x-lgi:*.lgi" in globs, "MIME database: *.lgi is application/x-lgi")
        check(SIGNATURE in magic, "MIME database: the .lgi signature identifies the type")


def self_tests(app: Path, prefix: Path, home: Path, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        if i == 0:
            evict(prefix)
        code, out, seconds = run([str(app), "--self-test"], clean_env(home))
        ok = code == 0 and "self-test passed" in out and not crashed(code, out)
        check(ok, f"self-test run {i + 1}: exit {code}, {seconds:.1f} s" + ("" if ok else f"\n{out}"))
        times.append(seconds)
    return times


def gui_runs(app: Path, prefix: Path, home: Path, picture: Path, runs: int, seconds: float) -> list[float]:
    starts = []
    for i in range(runs):
        if i == 0:
            evict(prefix)
        r = gui_once(app, picture, clean_env(home), seconds)
        text = "\n".join(r["lines"])
        shown = sum(line.startswith("window shown") for line in r["lines"])
        ok = (
            r["code"] == 0
            and shown == 1
            and "engine event: lgi_opened" in text
            and "engine process alive: True" in text
            and not crashed(r["code"], text)
        )
        start = f"{r['shown']:.2f} s" if r["shown"] is not None else "never"
        check(ok, f"GUI run {i + 1}: exit {r['code']}, window shown after {start}" + ("" if ok else f"\n{text}"))
        left = leftover_processes(prefix)
        check(not left, f"GUI run {i + 1}: no process left behind {left or ''}")
        if r["shown"] is not None:
            starts.append(r["shown"])
    return starts


def check_x11(app: Path, prefix: Path, home: Path, picture: Path, seconds: float) -> None:
    env = clean_env(home, QT_QPA_PLATFORM="xcb")
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", str(app), "--quit-after", str(seconds), str(picture)]
    code, out, total = run(cmd, env, timeout=seconds + 90)
    ok = code == 0 and "engine event: lgi_opened" in out and "engine process alive: True" in out
    check(ok and not crashed(code, out), f"GUI under Xvfb: exit {code}, {total:.1f} s" + ("" if ok else f"\n{out}"))
    check(not leftover_processes(prefix), "GUI under Xvfb: no process left behind")


def check_cli(prefix: Path, home: Path, scratch: Path) -> Path:
    picture, lgi = scratch / "picture.png", scratch / "picture.lgi"
    write_png(picture)
    env = clean_env(home)
    lgi_cmd = str(prefix / "bin" / "lgi")
    code, out, seconds = run(
        [lgi_cmd, "encode", "-i", str(picture), "-o", str(lgi), "-n", "40", "--iterations", "40", "--quiet"], env
    )
    check(
        code == 0 and lgi.read_bytes()[:8] == SIGNATURE,
        f"lgi encode -> .lgi ({seconds:.1f} s)" + ("" if code == 0 else f"\n{out}"),
    )
    code, out, _ = run([lgi_cmd, "info", str(lgi), "--json"], env)
    check(code == 0 and json.loads(out or "{}").get("gaussians") == 40, "lgi info --json")
    code, out, _ = run([lgi_cmd, "decode", "-i", str(lgi), "-o", str(scratch / "big.png"), "--scale", "3"], env)
    check(code == 0 and (scratch / "big.png").read_bytes()[:4] == b"\x89PNG", "lgi decode --scale 3")
    return lgi


def check_unusual_homes(app: Path, scratch: Path) -> None:
    code, out, _ = run([str(app), "--self-test"], clean_env(None))
    check(code == 0 and "self-test passed" in out, "self-test without HOME" + ("" if code == 0 else f"\n{out}"))
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("  skip read-only HOME (needs root to run as nobody)")
        return
    home = scratch / "read-only-home"
    home.mkdir(mode=0o555)
    code, out, _ = run([str(app), "--self-test"], clean_env(home), user="nobody")
    warnings = [line for line in out.splitlines() if line.startswith("[W") or "warn" in line.lower()]
    check(
        code == 0 and "self-test passed" in out,
        "self-test as nobody with a read-only HOME" + ("" if code == 0 else f"\n{out}"),
    )
    check(not warnings, f"no warnings with a read-only HOME {warnings or ''}")


def check_deb(deb: Path, scratch: Path, dpkg_install: bool) -> None:
    code, info, _ = run(["dpkg-deb", "--info", str(deb)], os.environ)
    fields = dict(re.findall(r"^ (\w[\w-]*): (.*)$", info, re.M))
    check(
        code == 0 and fields.get("Package") == "lgi-studio",
        f"dpkg-deb --info: {fields.get('Package')} {fields.get('Version')}",
    )
    print(f"  Depends: {fields.get('Depends')}; Installed-Size: {fields.get('Installed-Size')} KiB")
    code, contents, _ = run(["dpkg-deb", "--contents", str(deb)], os.environ)
    for path in (
        "./usr/bin/lgi-studio -> /opt/lgi-studio/lgi-studio",
        "./usr/bin/lgi -> /opt/lgi-studio/lgi",
        "./usr/share/applications/lgi-studio.desktop",
        "./usr/share/mime/packages/lgi-studio.xml",
        "./usr/share/icons/hicolor/256x256/apps/lgi-studio.png",
        "./usr/share/icons/hicolor/48x48/mimetypes/application-x-lgi.png",
        "./opt/lgi-studio/_internal/taichi/_lib/runtime/runtime_x64.bc",
        "./opt/lgi-studio/_internal/lgi_kernels/rasterize.py",
    ):
        check(path in contents, f".deb holds {path}")
    root = scratch / "deb-root"
    code, out, _ = run(["dpkg-deb", "-x", str(deb), str(root)], os.environ)
    code, out, seconds = run([str(root / "opt" / "lgi-studio" / "lgi-studio"), "--self-test"], clean_env(scratch))
    check(code == 0 and "self-test passed" in out, f"self-test of the .deb's extracted bundle ({seconds:.1f} s)")
    if not dpkg_install:
        return
    code, out, _ = run(["dpkg", "-i", str(deb)], os.environ)
    check(code == 0, "dpkg -i" + ("" if code == 0 else f"\n{out}"))
    code, out, seconds = run(["/usr/bin/lgi-studio", "--self-test"], clean_env(scratch))
    check(code == 0 and "self-test passed" in out, f"/usr/bin/lgi-studio --self-test after dpkg -i ({seconds:.1f} s)")
    mime = Path("/usr/share/mime/application/x-lgi.xml")
    check(mime.exists(), f"dpkg trigger updated the MIME database ({mime})")
    code, out, _ = run(["dpkg", "-r", "lgi-studio"], os.environ)
    check(code == 0 and not Path("/opt/lgi-studio/lgi-studio").exists() and not mime.exists(), "dpkg -r removes it all")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where build.sh wrote (default dist/)")
    parser.add_argument("--runs", type=int, default=5, help="how many times to run the self-test and the GUI")
    parser.add_argument("--gui-seconds", type=float, default=6.0, help="how long each GUI run stays open")
    parser.add_argument("--dpkg-install", action="store_true", help="also install and remove the .deb (root)")
    args = parser.parse_args(argv)
    tarballs = sorted(args.dist.glob("lgi-studio-*-linux-*.tar.gz"), key=os.path.getmtime)
    debs = sorted(args.dist.glob("lgi-studio_*.deb"), key=os.path.getmtime)
    if not tarballs:
        print(f"smoke test: no lgi-studio-*-linux-*.tar.gz in {args.dist}; run packaging/build.sh first")
        return 2
    tarball = tarballs[-1]
    bundle_bytes, bundle_files = tree_size(args.dist / "lgi-studio")
    load = os.getloadavg()
    print(f"smoke test of {tarball.name} ({os.cpu_count()} CPUs, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")

    scratch = Path(tempfile.mkdtemp(prefix="lgi-smoke-"))
    scratch.chmod(0o755)  # the read-only-HOME run is another user
    try:
        prefix, home = scratch / "prefix", scratch / "home"
        home.mkdir()
        print("install from the .tar.gz")
        code, out, _ = run(["tar", "-xzf", str(tarball), "-C", str(scratch)], os.environ)
        unpacked = scratch / tarball.name.removesuffix(".tar.gz")
        code, out, seconds = run([str(unpacked / "install.sh"), "--prefix", str(prefix)], clean_env(home))
        check(code == 0, f"install.sh --prefix {prefix} ({seconds:.1f} s)" + ("" if code == 0 else f"\n{out}"))
        check_desktop_files(prefix)
        app = prefix / "bin" / "lgi-studio"
        print(f"self-test, {args.runs} runs (the first cold)")
        self_times = self_tests(app, prefix, home, args.runs)
        print("command line")
        lgi = check_cli(prefix, home, scratch)
        print(f"GUI offscreen, {args.runs} runs of {args.gui_seconds:.0f} s on a .lgi (the first cold)")
        gui_starts = gui_runs(app, prefix, home, lgi, args.runs, args.gui_seconds)
        if shutil.which("xvfb-run"):
            print("GUI on an X server (Xvfb, the xcb platform plugin), 1 run")
            check_x11(app, prefix, home, lgi, args.gui_seconds)
        print("unusual homes")
        check_unusual_homes(app, scratch)
        code, out, _ = run([str(unpacked / "install.sh"), "--prefix", str(prefix), "--uninstall"], clean_env(home))
        left = [p for p in prefix.rglob("*") if p.is_file() and not is_cache(p)]
        check(code == 0 and not left, f"install.sh --uninstall leaves no files {left[:3] if left else ''}")
        if debs:
            print(f"the .deb: {debs[-1].name}")
            check_deb(debs[-1], scratch, args.dpkg_install)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print()
    print("| measured | value |")
    print("|---|---|")
    print(f"| bundle `dist/lgi-studio/` | {mb(bundle_bytes)} in {bundle_files} files |")
    print(f"| `{tarball.name}` | {mb(tarball.stat().st_size)} |")
    if debs:
        print(f"| `{debs[-1].name}` | {mb(debs[-1].stat().st_size)} |")
    if self_times:
        warm = f", then median {statistics.median(self_times[1:]):.1f} s" if len(self_times) > 1 else ""
        print(f"| `lgi-studio --self-test`, {len(self_times)} runs | first (cold) {self_times[0]:.1f} s{warm} |")
    if gui_starts:
        warm = f", then median {statistics.median(gui_starts[1:]):.2f} s" if len(gui_starts) > 1 else ""
        runs = ", ".join(f"{s:.2f}" for s in gui_starts)
        print(f"| launch to window shown, {len(gui_starts)} runs | first (cold) {gui_starts[0]:.2f} s{warm} ({runs}) |")
    print(f"| checks failed | {len(failures)} |")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
