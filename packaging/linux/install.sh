#!/bin/sh
# Install LGI Studio from the unpacked .tar.gz: the app, the `lgi-studio` and `lgi` commands, the menu entry,
# the icon, the .lgi file type and its thumbnailer.
#
#   ./install.sh                      for you only, into ~/.local (no root needed)
#   sudo ./install.sh --prefix /usr/local   for everyone on this computer
#   ./install.sh --uninstall          remove it again (same --prefix as when installing)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix="${HOME:-}/.local"
action=install

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a folder" >&2; exit 2; }; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --uninstall) action=uninstall; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
case "$prefix" in
    /*) ;;
    *) echo "install.sh: the prefix must be an absolute path, got '$prefix'" >&2; exit 2 ;;
esac

app="$prefix/lib/lgi-studio"

# Every file under share/ in this folder goes to $prefix/share/ (menu entry, MIME type, icons).
shared_files() {
    (cd "$here/share" && find . -type f | sed 's|^\./||')
}

refresh_caches() {
    if command -v update-mime-database >/dev/null 2>&1; then
        update-mime-database "$prefix/share/mime" >/dev/null 2>&1 || true
    fi
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$prefix/share/applications" >/dev/null 2>&1 || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$prefix/share/icons/hicolor/index.theme" ]; then
        gtk-update-icon-cache -q -t "$prefix/share/icons/hicolor" >/dev/null 2>&1 || true
    fi
}

if [ "$action" = uninstall ]; then
    rm -rf "$app"
    for name in lgi-studio lgi; do
        # only our own links: a different lgi on the PATH is left alone
        if [ -L "$prefix/bin/$name" ] && [ "$(readlink "$prefix/bin/$name")" = "$app/$name" ]; then
            rm -f "$prefix/bin/$name"
        fi
    done
    shared_files | while read -r file; do rm -f "$prefix/share/$file"; done
    refresh_caches
    echo "LGI Studio removed from $prefix"
    exit 0
fi

[ -x "$here/lgi-studio/lgi-studio" ] || { echo "install.sh: run me from the unpacked archive" >&2; exit 1; }
mkdir -p "$prefix/lib" "$prefix/bin"
# copy beside, then swap: an interrupted install leaves the previous version working
rm -rf "$app.new"
cp -R "$here/lgi-studio" "$app.new"
rm -rf "$app"
mv "$app.new" "$app"
ln -sf "$app/lgi-studio" "$prefix/bin/lgi-studio"
ln -sf "$app/lgi" "$prefix/bin/lgi"
shared_files | while read -r file; do
    mkdir -p "$(dirname "$prefix/share/$file")"
    cp "$here/share/$file" "$prefix/share/$file"
    chmod 644 "$prefix/share/$file"
done
# the menu may not search $prefix/bin: point the entry at the installed command itself
desktop="$prefix/share/applications/lgi-studio.desktop"
sed -e "s|^Exec=lgi-studio |Exec=\"$prefix/bin/lgi-studio\" |" -e "s|^TryExec=.*|TryExec=$prefix/bin/lgi-studio|" \
    "$desktop" >"$desktop.tmp" && mv "$desktop.tmp" "$desktop"
# file managers run thumbnailers with a PATH that may lack $prefix/bin too
thumbnailer="$prefix/share/thumbnailers/lgi-studio.thumbnailer"
if [ -f "$thumbnailer" ]; then
    sed -e "s|^Exec=lgi |Exec=\"$prefix/bin/lgi\" |" -e "s|^TryExec=.*|TryExec=$prefix/bin/lgi|" \
        "$thumbnailer" >"$thumbnailer.tmp" && mv "$thumbnailer.tmp" "$thumbnailer"
fi
refresh_caches

echo "LGI Studio installed in $app"
echo "Start it from your applications menu, or run: $prefix/bin/lgi-studio"
case ":${PATH:-}:" in
    *":$prefix/bin:"*) ;;
    *) echo "Note: $prefix/bin is not on your PATH; add it to run lgi-studio and lgi by name." ;;
esac
