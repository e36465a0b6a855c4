"""Simulators of every device the kiosk drives. Each speaks the real protocol over a real
transport (a pty, a TCP socket or the simulated pyusb backend) and can inject faults."""
