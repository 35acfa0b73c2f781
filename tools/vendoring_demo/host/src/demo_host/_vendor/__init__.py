"""Third-party libraries vendored by ``vendoring sync``; see ``vendor.txt`` for the pins.

Everything in this directory except this file and ``vendor.txt`` is generated.
"""
