#!/usr/bin/env bash
# Build the designer bundle and, on Linux, its two installers:
#   dist/lgi-studio/                                   the PyInstaller onedir bundle (lgi-studio and lgi)
#   dist/lgi-studio-<version>-linux-<arch>.tar.gz      the bundle + install.sh + menu entry, icon, MIME type
#   dist/lgi-studio_<version>_<debarch>.deb            the same for dpkg/apt (needs dpkg-deb)
#
#   packaging/build.sh             uses .venv/bin/python; installs the "package" extra when PyInstaller is missing
#   PYTHON=/path/to/python packaging/build.sh
#
# Then check the result: python3 packaging/smoke_test.py (docs/packaging.md).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${PYTHON:-.venv/bin/python}

if ! "$python" -c "import PyInstaller" 2>/dev/null; then
    "$python" -m pip install -e ".[package]"
fi
version=$("$python" -c "import lgi_studio; print(lgi_studio.__version__)")

echo "build: PyInstaller bundle (about a minute)"
rm -rf dist/lgi-studio
"$python" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
    packaging/lgi-studio.spec
[ "$(uname -s)" = Linux ] || { echo "build: dist/lgi-studio/ done (installers for this system: docs/packaging.md)"; exit 0; }

# share/: what the desktop needs besides the app, laid out as under /usr/share; used by both installers
stage=build/stage
share=$stage/share
rm -rf "$stage"
install -D -m 644 resources/lgi-studio.desktop "$share/applications/lgi-studio.desktop"
install -D -m 644 resources/lgi-studio-mime.xml "$share/mime/packages/lgi-studio.xml"
install -D -m 644 resources/lgi-studio.thumbnailer "$share/thumbnailers/lgi-studio.thumbnailer"
install -D -m 644 lgi_studio/resources/lgi-studio.svg "$share/icons/hicolor/scalable/apps/lgi-studio.svg"
install -D -m 644 lgi_studio/resources/lgi-studio.svg "$share/icons/hicolor/scalable/mimetypes/application-x-lgi.svg"
for size in 48 128 256; do
    png=lgi_studio/resources/lgi-studio-$size.png
    install -D -m 644 "$png" "$share/icons/hicolor/${size}x${size}/apps/lgi-studio.png"
    install -D -m 644 "$png" "$share/icons/hicolor/${size}x${size}/mimetypes/application-x-lgi.png"
done

arch=$(uname -m)
name=lgi-studio-$version-linux-$arch
echo "build: $name.tar.gz"
mkdir -p "$stage/$name"
cp -R dist/lgi-studio "$stage/$name/lgi-studio"
cp -R "$share" "$stage/$name/share"
install -m 755 packaging/linux/install.sh "$stage/$name/install.sh"
rm -f "dist/$name.tar.gz"
tar -C "$stage" --owner=0 --group=0 -cf - "$name" | gzip -9 >"dist/$name.tar.gz"

if ! command -v dpkg-deb >/dev/null; then
    echo "build: no dpkg-deb here, skipping the .deb"
    exit 0
fi
debarch=$(dpkg --print-architecture)
deb=$stage/deb
echo "build: lgi-studio_${version}_$debarch.deb"
mkdir -p "$deb/DEBIAN" "$deb/opt" "$deb/usr/bin" "$deb/usr/share"
cp -R dist/lgi-studio "$deb/opt/lgi-studio"
cp -R "$share/." "$deb/usr/share/"
ln -s /opt/lgi-studio/lgi-studio "$deb/usr/bin/lgi-studio"
ln -s /opt/lgi-studio/lgi "$deb/usr/bin/lgi"
# the oldest glibc the bundled libraries accept is the newest symbol version any of them asks for
glibc=$(find dist/lgi-studio -type f \( -name '*.so*' -o -name lgi -o -name lgi-studio \) -exec objdump -T {} + 2>/dev/null |
    grep -o 'GLIBC_2\.[0-9]*' | sed 's/GLIBC_//' | sort -t. -k2,2n -u | tail -1)
# Debian's own variables name the maintainer (as dch reads them); without them the field is a placeholder
maintainer="${DEBFULLNAME:-LGI Studio maintainers} <${DEBEMAIL:-maintainers@lgi-studio.invalid}>"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$debarch/" -e "s/@GLIBC@/${glibc:-2.31}/" \
    -e "s|@MAINTAINER@|$maintainer|" \
    -e "s/@INSTALLED_KB@/$(du -sk "$deb" --exclude=DEBIAN | cut -f1)/" \
    packaging/linux/control.in >"$deb/DEBIAN/control"
# shared-mime-info, desktop-file-utils and hicolor-icon-theme refresh their caches through dpkg triggers:
# the package needs no maintainer scripts
rm -f "dist/lgi-studio_${version}_$debarch.deb"
dpkg-deb --root-owner-group -Zxz --build "$deb" "dist/lgi-studio_${version}_$debarch.deb" >/dev/null

echo "build: done"
du -sh dist/lgi-studio "dist/$name.tar.gz" "dist/lgi-studio_${version}_$debarch.deb" | sed "s|$root/||"
