# Build LGI Studio for Windows: the PyInstaller bundle, then the Inno Setup installer.
# NOT BUILT OR TESTED YET: written on Linux; see docs/packaging.md ("Windows").
#
# Needs: Python 3.11 (64-bit, python.org or `py` launcher), Inno Setup 6 (ISCC.exe on PATH or in its default
# folder). From the repository root, in PowerShell:
#
#   py -3.11 -m venv .venv
#   .venv\Scripts\pip install -e ".[package]"
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build_windows.ps1
#
# Output: dist\lgi-studio\ (the bundle: lgi-studio.exe, lgi.exe) and dist\LGI-Studio-<version>-windows-x64-setup.exe
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
$python = ".venv\Scripts\python.exe"

& $python -c "import PyInstaller" 2>$null
if ($LASTEXITCODE -ne 0) { & $python -m pip install -e ".[package]"; if ($LASTEXITCODE -ne 0) { exit 1 } }
$version = (& $python -c "import lgi_studio; print(lgi_studio.__version__)").Trim()

# the spec picks up build\pyinstaller\lgi-studio.ico as the executables' icon
& $python packaging\make_icon.py --ico build\pyinstaller\lgi-studio.ico
if ($LASTEXITCODE -ne 0) { exit 1 }

if (Test-Path dist\lgi-studio) { Remove-Item -Recurse -Force dist\lgi-studio }
& $python -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build\pyinstaller packaging\lgi-studio.spec
if ($LASTEXITCODE -ne 0) { exit 1 }

# the bundle must pass its own self-test before it is wrapped in an installer
& dist\lgi-studio\lgi.exe self-test
if ($LASTEXITCODE -ne 0) { Write-Error "self-test of the bundle failed"; exit 1 }

$iscc = (Get-Command ISCC.exe -ErrorAction SilentlyContinue).Source
if (-not $iscc) { $iscc = Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe" }
& $iscc "/DAppVersion=$version" packaging\windows\lgi-studio.iss
if ($LASTEXITCODE -ne 0) { exit 1 }
Get-ChildItem dist\LGI-Studio-*-setup.exe | Format-Table Name, Length
