"""The cocotb verification kit: run the sans-IO driver against RTL.

Imported only by cocotb benches (tests/cocotb/) and their pytest entries;
nothing in the fast model imports it (DESIGN.md: cocotb-specific code lives
in modules nothing else imports).
"""
