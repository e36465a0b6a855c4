#!/usr/bin/env bash
# Installs the Debian packages that the kiosk and its tests need, if any is missing.
# Runs as root on a fresh Debian machine (CI, a developer box); elsewhere it only reports.
set -euo pipefail

packages=(
    xvfb xauth x11-utils xdotool          # the real Kivy window under a virtual screen
    x11-apps netpbm                       # xwd + xwdtopnm: grabs of what the X server shows
    libgl1 libgl1-mesa-dri libmtdev1      # OpenGL and touch input for Kivy's SDL2 window
    cups cups-client cups-bsd             # the A4 path goes through a real CUPS server
    printer-driver-cups-pdf               # ...whose test queue writes PDFs to a folder
    cups-ipp-utils                        # ippeveprinter, a real IPP printer that can fault
    libusb-1.0-0                          # pyusb's backend on real hardware
    espeak-ng                             # spoken guidance for citizens who cannot read well
    dbus-daemon                           # ippeveprinter needs a D-Bus; the tests start a private one
    fonts-dejavu-core                     # test pages and receipts need the full Latin set
    chromium chromium-driver              # the dinas fleet page, tested in a real headless browser
    e2fsprogs                             # mkfs.ext4/e2fsck: the state folder on a loop device turned read-only
    postgresql                            # the dinas contract suite also runs on a throwaway cluster
    wrk                                   # bench_dinas_throughput's open-loop heartbeat load (C, cheap on 2 cores)
)

# Debian's own python3 needs python3-venv for `python3 -m venv`; a python built elsewhere
# (pyenv, the CI image) ships ensurepip and needs nothing.
python3 -c 'import ensurepip' 2>/dev/null || packages+=(python3-venv)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages: ${missing[*]}" >&2
    echo "Install them as root: apt-get install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# With recommends: the same set this project is developed and tested with.
apt-get install -y -q "${missing[@]}"
