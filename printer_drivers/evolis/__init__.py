"""The Evolis card printer family: escape-command protocol, KIA imaging, the driver.

    from printer_drivers.evolis.printer import EvolisPrinter
"""
