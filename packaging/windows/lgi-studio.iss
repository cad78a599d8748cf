; Inno Setup 6 script for LGI Studio: installs the PyInstaller bundle (dist\lgi-studio\), a Start menu entry,
; an optional desktop icon and the .lgi file association. Run through packaging\windows\build_windows.ps1,
; which builds the bundle first and passes /DAppVersion.
; NOT BUILT OR TESTED YET: written on Linux; see docs/packaging.md ("Windows").

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif

[Setup]
AppId={{6C1D5E0A-3B7F-4E59-9A57-3F2C0E4B1A8D}
AppName=LGI Studio
AppVersion={#AppVersion}
AppPublisher=LGI Studio
DefaultDirName={autopf}\LGI Studio
DefaultGroupName=LGI Studio
DisableProgramGroupPage=yes
; per-user install without admin rights unless the user picks "for all users"
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
OutputDir=..\..\dist
OutputBaseFilename=LGI-Studio-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\build\pyinstaller\lgi-studio.ico
UninstallDisplayIcon={app}\lgi-studio.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "associate"; Description: "Open .lgi files with LGI Studio"; GroupDescription: "File types:"

[Files]
Source: "..\..\dist\lgi-studio\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\LGI Studio"; Filename: "{app}\lgi-studio.exe"
Name: "{autodesktop}\LGI Studio"; Filename: "{app}\lgi-studio.exe"; Tasks: desktopicon

[Registry]
; HKA is HKLM for an all-users install and HKCU for a per-user one
Root: HKA; Subkey: "Software\Classes\.lgi"; ValueType: string; ValueName: ""; ValueData: "LGIStudio.lgi"; Flags: uninsdeletevalue; Tasks: associate
Root: HKA; Subkey: "Software\Classes\.lgi"; ValueType: string; ValueName: "Content Type"; ValueData: "application/x-lgi"; Tasks: associate
Root: HKA; Subkey: "Software\Classes\LGIStudio.lgi"; ValueType: string; ValueName: ""; ValueData: "LGI Gaussian image"; Flags: uninsdeletekey; Tasks: associate
Root: HKA; Subkey: "Software\Classes\LGIStudio.lgi\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\lgi-studio.exe,0"; Tasks: associate
Root: HKA; Subkey: "Software\Classes\LGIStudio.lgi\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\lgi-studio.exe"" ""%1"""; Tasks: associate
; "Open with" for pictures, without taking them over
Root: HKA; Subkey: "Software\Classes\Applications\lgi-studio.exe\SupportedTypes"; ValueType: string; ValueName: ".png"; ValueData: ""; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\lgi-studio.exe\SupportedTypes"; ValueType: string; ValueName: ".jpg"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\lgi-studio.exe\SupportedTypes"; ValueType: string; ValueName: ".jpeg"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\lgi-studio.exe\SupportedTypes"; ValueType: string; ValueName: ".lgi"; ValueData: ""

[Run]
Filename: "{app}\lgi-studio.exe"; Description: "{cm:LaunchProgram,LGI Studio}"; Flags: nowait postinstall skipifsilent
