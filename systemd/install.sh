#!/usr/bin/env bash
# Installs adm-kiosk on a kiosk PC (Debian 12, as root) from this source tree:
# the kiosk user, a virtualenv in /opt/adm-kiosk, the unit, udev rules and tmpfiles.
# It never overwrites an existing /etc/adm-kiosk/kiosk.toml.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }

bash "$src/tests/setup/system-deps.sh"
# xinit alone (without its recommends) brings no X server: the unit's `xinit … -- :0` needs
# Xorg itself (its modesetting driver is built in) and libinput for the touchscreen and keys.
apt-get install -y -q --no-install-recommends xinit xserver-xorg-core xserver-xorg-input-libinput
id adm-kiosk >/dev/null 2>&1 || useradd --system --home /var/lib/adm-kiosk --shell /usr/sbin/nologin adm-kiosk

python3 -m venv /opt/adm-kiosk/venv
/opt/adm-kiosk/venv/bin/pip install -q "$src"

install -m 0644 "$src/systemd/adm-kiosk.service" /etc/systemd/system/adm-kiosk.service
install -m 0644 "$src/systemd/99-adm-kiosk.rules" /etc/udev/rules.d/99-adm-kiosk.rules
install -m 0644 "$src/systemd/adm-kiosk.tmpfiles" /usr/lib/tmpfiles.d/adm-kiosk.conf
systemd-tmpfiles --create /usr/lib/tmpfiles.d/adm-kiosk.conf
udevadm control --reload-rules && udevadm trigger

if [ ! -e /etc/adm-kiosk/kiosk.toml ]; then
    install -m 0640 -g adm-kiosk "$src/config/kiosk.example.toml" /etc/adm-kiosk/kiosk.toml
    echo "Edit /etc/adm-kiosk/kiosk.toml (kiosk id, dinas URL, token file, devices), then:"
fi
systemctl daemon-reload
echo "systemctl enable --now adm-kiosk"
