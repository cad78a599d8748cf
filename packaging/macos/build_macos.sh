#!/usr/bin/env bash
# Build LGI Studio for macOS: "LGI Studio.app" from the same PyInstaller spec, then a .dmg to drag it from.
# NOT BUILT OR TESTED YET: written on Linux; see docs/packaging.md ("macOS").
#
# Needs: macOS 11+, Python 3.11 from python.org (universal2) or Homebrew, Xcode command line tools (iconutil,
# codesign, hdiutil come with macOS). From the repository root:
#
#   python3.11 -m venv .venv && .venv/bin/pip install -e ".[package]"
#   packaging/macos/build_macos.sh
#
# Output: dist/LGI Studio.app and dist/LGI-Studio-<version>-macos-<arch>.dmg. The app is signed ad hoc only:
# set CODESIGN_IDENTITY="Developer ID Application: ..." to sign it for distribution (then notarize, below).
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-.venv/bin/python}
[ "$(uname -s)" = Darwin ] || { echo "build_macos.sh: run me on macOS (hdiutil, iconutil, codesign)"; exit 1; }

"$python" -c "import PyInstaller" 2>/dev/null || "$python" -m pip install -e ".[package]"
version=$("$python" -c "import lgi_studio; print(lgi_studio.__version__)")
arch=$(uname -m)

# the spec picks up build/pyinstaller/lgi-studio.icns as the app's icon
rm -rf build/lgi-studio.iconset
"$python" packaging/make_icon.py --iconset build/lgi-studio.iconset
mkdir -p build/pyinstaller
iconutil -c icns build/lgi-studio.iconset -o build/pyinstaller/lgi-studio.icns

rm -rf dist/lgi-studio "dist/LGI Studio.app"
"$python" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
    packaging/lgi-studio.spec

app="dist/LGI Studio.app"
# the command line: `lgi` beside the app's executable (launcher.py dispatches on the name); link it from a
# folder on the PATH to use it: ln -s "/Applications/LGI Studio.app/Contents/MacOS/lgi" /usr/local/bin/lgi
ln -sf lgi-studio "$app/Contents/MacOS/lgi"
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    # notarization needs the hardened runtime; Taichi compiles kernels to machine code at run time (JIT)
    codesign --force --deep --options runtime --entitlements packaging/macos/entitlements.plist \
        --sign "$CODESIGN_IDENTITY" "$app"
else
    codesign --force --deep --sign - "$app"  # ad hoc: runs on this Mac; others must right-click > Open
fi

"$app/Contents/MacOS/lgi" self-test

# the .dmg: the app and a link to /Applications to drag it onto
stage=build/dmg
rm -rf "$stage"
mkdir -p "$stage"
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
dmg="dist/LGI-Studio-$version-macos-$arch.dmg"
rm -f "$dmg"
hdiutil create -volname "LGI Studio" -srcfolder "$stage" -ov -format UDZO "$dmg"
du -sh "$app" "$dmg"

# For distribution outside your own Macs (Gatekeeper), with a Developer ID and an app-specific password:
#   xcrun notarytool submit "$dmg" --apple-id YOU --team-id TEAM --password APP_PASSWORD --wait
#   xcrun stapler staple "$dmg"
